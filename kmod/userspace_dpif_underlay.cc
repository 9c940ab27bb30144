// UserspaceDpif's VXLAN underlay on the control side: the devices the
// tunnel remotes are reached through, opened as underlay-only system ports
// so that the first packet a remote sends is received, and retried while a
// remote does not resolve (see userspace_dpif.h; per-packet resolution is in
// userspace_dpif_fast_path.cc).
#include <arpa/inet.h>

#include <algorithm>

#include "kmod/userspace_dpif.h"

namespace flowlift {

namespace {

std::string ipv4_text(Be32 address) {
  char text[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

}  // namespace

Result<uint32_t> UserspaceDpif::underlay_port_for_device(const std::string& ifname) {
  std::lock_guard config(config_mutex_);
  {
    std::shared_lock lock(ports_mutex_);
    for (const auto& [number, port] : ports_)
      if (port->name == ifname && port->type == DpifPortType::kSystem) return number;
  }
  DpifPortRequest request;
  request.name = ifname;
  request.type = DpifPortType::kSystem;
  request.underlay_only = true;
  Result<uint32_t> added = add_port_locked(request);
  if (!added) return added.status().with_context("VXLAN underlay");
  return added;
}

Status UserspaceDpif::set_tunnel_remotes(uint32_t number, std::vector<Be32> remotes) {
  PortPtr port = find_port(number);
  if (!port || port->type != DpifPortType::kVxlan)
    return Status(ENODEV,
                  "set_tunnel_remotes: port number " + std::to_string(number) + " is not a vxlan port");
  {
    std::lock_guard config(config_mutex_);
    std::sort(remotes.begin(), remotes.end());
    remotes.erase(std::unique(remotes.begin(), remotes.end()), remotes.end());
    tunnel_remotes_[number] = std::move(remotes);
  }
  resolve_tunnel_remotes();
  return Status::ok();
}

void UserspaceDpif::resolve_tunnel_remotes() {
  if (!underlay_) return;
  std::map<uint32_t, std::vector<Be32>> remotes;
  {
    std::lock_guard config(config_mutex_);
    remotes = tunnel_remotes_;
  }
  for (const auto& [number, addresses] : remotes) {
    PortPtr port = find_port(number);
    if (!port) continue;
    std::string unresolved;
    for (Be32 remote : addresses) {
      Result<UnderlayPath> path = underlay_->resolve(UnderlayAddress::ipv4(remote));
      Status status = path.status();
      if (path) status = underlay_port_for_device(path->output_ifname).status();
      if (status) continue;
      // EAGAIN (neighbour not resolved yet) and the rest alike: retried on the
      // next kernel change or retry tick.
      if (!unresolved.empty()) unresolved += "; ";
      unresolved += "remote " + ipv4_text(remote) + ": " + status.message();
    }
    std::lock_guard lock(port->state_mutex);
    // Only this function writes "remote ..." errors; keep other reasons
    // (a failed encapsulation) until they are replaced.
    if (!unresolved.empty()) {
      port->error = unresolved;
    } else if (port->error.rfind("remote ", 0) == 0) {
      port->error.clear();
    }
  }
}

}  // namespace flowlift
