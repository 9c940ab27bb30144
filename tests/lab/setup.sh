#!/usr/bin/env bash
# Prepares the lab: Debian's distro kernel, booted under qemu by tests/lab/lab-run
# with this machine's root filesystem as the guest's (read-only, under a tmpfs
# overlay). The development machines run a kernel without modules; Debian's
# kernel has openvswitch, cls_flower, the act_* modules and vxlan as modules.
#
#   tests/lab/setup.sh [LAB_DIR]      (default: build/lab beside the sources)
#
# 1. Debian packages the lab needs on the HOST. The guest runs the host's own
#    programs (its root is the host's /), so whatever a lab test runs inside
#    the VM must be installed here: qemu-system-x86 (the VM), busybox-static
#    (the initramfs), kmod (depmod here, modprobe in the guest), ethtool,
#    openvswitch-switch (ovs-dpctl, the judge of our kernel datapath; ovs-vswitchd,
#    the peer of the TC offload check and benchmark, run privately: the package's
#    service is kept from starting).
# 2. The kernel image package linux-image-amd64 points at, fetched with
#    `apt-get download` and only unpacked under LAB_DIR/kernel: nothing is
#    installed into /boot or /lib/modules. depmod runs on that tree.
# 3. LAB_DIR/vmlinux: the uncompressed kernel. qemu boots an ELF vmlinux
#    through its PVH entry note directly, which skips real-mode setup and the
#    xz decompressor, both slow under TCG (about 4 s of every boot).
# 4. LAB_DIR/initramfs.cpio.gz: busybox, the modules needed to reach the host's
#    root (virtio-pci, 9p, overlay), and the guest's init and stage2.
#
# Idempotent and quiet: when everything is in place it prints nothing and
# touches nothing. On failure it says what failed, also in
# LAB_DIR/setup-failed.txt, which `lab-run --check` (and so a skipped lab test)
# reports as the reason.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
lab_dir=${1:-$source_root/build/lab}
mkdir -p "$lab_dir"
lab_dir=$(cd "$lab_dir" && pwd)
failure_note=$lab_dir/setup-failed.txt

say() { printf 'lab setup: %s\n' "$*" >&2; }
fail() {
  say "$*"
  printf '%s\n' "$*" >"$failure_note"
  exit 1
}

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
apt_lists_fresh=0
apt_update_once() {
  [ $apt_lists_fresh = 1 ] && return 0
  $SUDO apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed (no Debian mirror reachable?)"
  apt_lists_fresh=1
}

# --- 1. host packages --------------------------------------------------------
packages=(qemu-system-x86 busybox-static kmod ethtool openvswitch-switch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  say "installing ${missing[*]}"
  apt_update_once
  # openvswitch-switch must not start its system service: lab tests and
  # benchmarks run private ovsdb-server/ovs-vswitchd instances only. Where
  # no policy-rc.d exists (containers usually have one), a temporary one
  # refuses every service start for the duration of the install.
  temporary_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    temporary_policy=1
  fi
  install_status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || install_status=$?
  [ $temporary_policy = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ $install_status = 0 ] || fail "apt-get install ${missing[*]} failed"
fi
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found although qemu-system-x86 is installed"
/bin/busybox --list 2>/dev/null | grep -qx switch_root \
  || fail "/bin/busybox has no switch_root applet (busybox-static is needed, not busybox)"

# --- 2. the kernel, unpacked under LAB_DIR/kernel ----------------------------
# kernel/release names the kernel the lab boots (its `uname -r`); it is
# written last, so its presence means the tree is complete.
if [ ! -f "$lab_dir/kernel/release" ]; then
  # linux-image-amd64 is a metapackage; its dependency is the image itself.
  image_package=${FLOWLIFT_LAB_KERNEL_PACKAGE:-}
  if [ -z "$image_package" ]; then
    image_package=$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$image_package" ]; then
      apt_update_once
      image_package=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
  fi
  [ -n "$image_package" ] || fail "no kernel package: apt-cache knows no linux-image-amd64"
  say "downloading $image_package (unpacked under $lab_dir/kernel only)"
  rm -rf "$lab_dir/download" "$lab_dir/kernel"
  mkdir -p "$lab_dir/download"
  # The sandbox user _apt cannot write into a root-owned build tree.
  download() {
    (cd "$lab_dir/download" && apt-get -o APT::Sandbox::User=root download -qq "$image_package" >/dev/null 2>&1)
  }
  if ! download; then
    apt_update_once
    download || fail "apt-get download $image_package failed (no Debian mirror reachable?)"
  fi
  deb=$(ls "$lab_dir/download/${image_package}"_*.deb)
  mkdir -p "$lab_dir/kernel.partial"
  dpkg-deb -x "$deb" "$lab_dir/kernel.partial" || fail "dpkg-deb -x $deb failed"
  release=$(ls "$lab_dir/kernel.partial/lib/modules")
  [ -f "$lab_dir/kernel.partial/boot/vmlinuz-$release" ] || fail "$deb holds no boot/vmlinuz-$release"
  depmod -b "$lab_dir/kernel.partial" "$release" || fail "depmod on the unpacked kernel failed"
  dpkg-deb -f "$deb" Package Version >"$lab_dir/kernel.partial/package"
  printf '%s\n' "$release" >"$lab_dir/kernel.partial/release"
  mv "$lab_dir/kernel.partial" "$lab_dir/kernel"
  rm -rf "$lab_dir/download"
  rm -f "$lab_dir/vmlinux" "$lab_dir/initramfs.cpio.gz"
fi
release=$(cat "$lab_dir/kernel/release")
modules=$lab_dir/kernel/lib/modules/$release

# --- 3. the uncompressed vmlinux ---------------------------------------------
# Debian's bzImage carries the kernel ELF as an xz stream; it is that ELF.
if [ ! -f "$lab_dir/vmlinux" ]; then
  say "extracting vmlinux (PVH entry) from vmlinuz-$release"
  python3 - "$lab_dir/kernel/boot/vmlinuz-$release" "$lab_dir/vmlinux.partial" <<'PY' \
    || fail "cannot extract vmlinux from vmlinuz-$release"
import lzma, sys
image = open(sys.argv[1], 'rb').read()
start = image.find(b'\xfd7zXZ\x00')
if start < 0:
    sys.exit('no xz payload in ' + sys.argv[1])
elf = lzma.LZMADecompressor().decompress(image[start:])
if elf[:4] != b'\x7fELF':
    sys.exit('the xz payload of ' + sys.argv[1] + ' is not an ELF image')
open(sys.argv[2], 'wb').write(elf)
PY
  mv "$lab_dir/vmlinux.partial" "$lab_dir/vmlinux"
fi

# --- 4. the initramfs --------------------------------------------------------
# Rebuilt when missing or older than the guest scripts or busybox.
initramfs=$lab_dir/initramfs.cpio.gz
if [ ! -f "$initramfs" ] || [ "$here/guest-init" -nt "$initramfs" ] ||
   [ "$here/guest-stage2" -nt "$initramfs" ] || [ /bin/busybox -nt "$initramfs" ]; then
  say "building the initramfs"
  tree=$lab_dir/initramfs.partial
  rm -rf "$tree"
  mkdir -p "$tree"/{bin,lib/early,proc,sys,dev,newroot}
  # The kernel opens /dev/console before init runs, so it must exist in the archive.
  mknod -m 600 "$tree/dev/console" c 5 1
  mknod -m 666 "$tree/dev/null" c 1 3
  cp /bin/busybox "$tree/bin/busybox"
  # Early modules in dependency order, each once.
  for top in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$lab_dir/kernel" -S "$release" --show-depends "$top" |
      awk '$1 == "insmod" {print $2}' || fail "modprobe cannot resolve $top in the lab kernel"
  done | awk '!seen[$0]++' | while read -r module_path; do
    cp "$module_path" "$tree/lib/early/"
    basename "$module_path" .ko >>"$tree/early-modules"
  done
  [ -s "$tree/early-modules" ] || fail "no early modules found under $modules"
  install -m 755 "$here/guest-init" "$tree/init"
  install -m 755 "$here/guest-stage2" "$tree/stage2"
  (cd "$tree" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$initramfs.partial"
  mv "$initramfs.partial" "$initramfs"
  rm -rf "$tree"
fi
rm -f "$failure_note"
