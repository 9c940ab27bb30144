// UserspaceDpif's receive threads: each polls the rings of the system ports
// assigned to it plus its eventfd, and runs the fast path on what arrives in
// batches. Thread 0 also does the datapath's service work: the kernel's
// route/neighbour/address change socket, the held VXLAN UDP sockets, retries
// of unresolved tunnel remotes, and mask rebalancing (see userspace_dpif.h).
//
// Port changes: port_add/port_del/a vanished device bump port_generation_
// and write every thread's eventfd; a thread rebuilds its poll set from the
// port table and so drops its references to removed ports between batches,
// never while reading one.
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flowlift/thread_name.h"
#include "kmod/userspace_dpif.h"

namespace flowlift {

namespace {

// The kernel's delayed work rebalances the mask list every 4 seconds.
constexpr uint64_t kDpifMaskRebalanceIntervalMs = 4000;

}  // namespace

void UserspaceDpif::start_receive_threads() {
  size_t count = options_.receive_threads ? options_.receive_threads : 1;
  receive_threads_.resize(count);
  for (ReceiveThread& thread : receive_threads_) thread.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  next_retry_ = std::chrono::steady_clock::now() + options_.remote_retry_interval;
  for (size_t i = 0; i < count; ++i)
    receive_threads_[i].thread = std::thread([this, i] {
      set_thread_name("receive" + std::to_string(i));
      receive_loop(i);
    });
}

void UserspaceDpif::stop_receive_threads() {
  stopping_ = true;
  port_set_changed();
  for (ReceiveThread& thread : receive_threads_)
    if (thread.thread.joinable()) thread.thread.join();
  // Only now: a thread still running may wake the others.
  for (ReceiveThread& thread : receive_threads_)
    if (thread.wake_fd >= 0) ::close(thread.wake_fd);
  receive_threads_.clear();
}

void UserspaceDpif::port_set_changed() {
  port_generation_.fetch_add(1, std::memory_order_acq_rel);
  uint64_t one = 1;
  for (const ReceiveThread& thread : receive_threads_)
    if (thread.wake_fd >= 0) (void)!::write(thread.wake_fd, &one, sizeof one);
}

void UserspaceDpif::check_device(UserspaceDpifPort& port) {
  // POLLERR: the kernel set a socket error (ENETDOWN on link down and on
  // unregistration). Reading it clears it; the device is gone if its name no
  // longer names the same ifindex in our namespace.
  int error = 0;
  socklen_t length = sizeof error;
  (void)::getsockopt(port.device->fd(), SOL_SOCKET, SO_ERROR, &error, &length);
  unsigned ifindex = ::if_nametoindex(port.name.c_str());
  if (ifindex == 0 || static_cast<int>(ifindex) != port.device->ifindex()) mark_device_gone(port);
}

void UserspaceDpif::receive_loop(size_t index) {
  const bool service = index == 0;
  LookupContext context(table_);
  std::vector<PortPtr> polled;   // system ports this thread reads
  std::vector<PortPtr> holders;  // VXLAN ports with a held UDP socket (service thread)
  std::vector<pollfd> fds;
  uint64_t seen_generation = ~uint64_t{0};
  std::vector<Packet> batch;
  const int wake_fd = receive_threads_[index].wake_fd;
  while (!stopping_.load(std::memory_order_acquire)) {
    uint64_t generation = port_generation_.load(std::memory_order_acquire);
    if (generation != seen_generation) {
      seen_generation = generation;
      polled.clear();
      holders.clear();
      std::shared_lock lock(ports_mutex_);
      for (const auto& [number, port] : ports_) {
        if (port->device && port->receive_thread % receive_threads_.size() == index &&
            !port->device_gone.load(std::memory_order_relaxed)) {
          polled.push_back(port);
        }
        if (service && port->udp_port_holder) holders.push_back(port);
      }
    }
    fds.clear();
    fds.push_back({wake_fd, POLLIN, 0});
    fds.push_back({service && underlay_ ? underlay_->change_fd() : -1, POLLIN, 0});
    for (const PortPtr& port : holders) fds.push_back({port->udp_port_holder->fd(), POLLIN, 0});
    const size_t first_port_fd = fds.size();
    for (const PortPtr& port : polled) fds.push_back({port->device->fd(), POLLIN, 0});

    int timeout_ms = -1;
    if (service) {
      auto until_retry = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_retry_ - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, until_retry.count()));
    }
    context.offline();  // blocking: hold back no reclamation
    int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    context.online();
    if (ready < 0) continue;  // EINTR

    if (fds[0].revents & POLLIN) {
      uint64_t count;
      (void)!::read(wake_fd, &count, sizeof count);
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      const pollfd& ready_fd = fds[first_port_fd + i];
      UserspaceDpifPort& port = *polled[i];
      if (ready_fd.revents & (POLLERR | POLLHUP | POLLNVAL)) check_device(port);
      if (!(ready_fd.revents & POLLIN)) continue;
      batch.clear();
      {
        std::lock_guard lock(port.receive_mutex);
        port.device->receive_batch(options_.receive_batch, batch);
      }
      for (Packet& packet : batch) receive(context, port, std::move(packet));
      context.quiescent();  // between batches: nothing read before is held
    }
    if (service) {
      for (size_t i = 0; i < holders.size(); ++i)
        if (fds[2 + i].revents & POLLIN) holders[i]->udp_port_holder->discard_pending();
      run_service_work((fds[1].revents & POLLIN) != 0);
      context.quiescent();
    }
  }
  context.offline();
}

void UserspaceDpif::run_service_work(bool kernel_changed) {
  bool retry_due = std::chrono::steady_clock::now() >= next_retry_;
  if (kernel_changed && underlay_->process_changes() > 0) {
    // Addresses may have come or gone; routes or neighbours may now resolve.
    (void)local_addresses_.refresh();
    retry_due = true;
  }
  if (retry_due) {
    next_retry_ = std::chrono::steady_clock::now() + options_.remote_retry_interval;
    resolve_tunnel_remotes();
    uint64_t now = monotonic_ms();
    if (now - last_rebalance_ms_ >= kDpifMaskRebalanceIntervalMs) {
      last_rebalance_ms_ = now;
      table_.rebalance();
    }
  }
}

}  // namespace flowlift
