// UserspaceDpif's control path: ports, flows, upcall queues, dummy ports
// (see userspace_dpif.h for the other files).
#include "kmod/userspace_dpif.h"

#include <algorithm>

#include "kmod/actions_validate.h"
#include "kmod/dpif_create_batch.h"

namespace flowlift {

namespace {

// The kernel's port numbers are 16 bits wide (DP_MAX_PORTS is 65535 there too).
constexpr uint32_t kMaxDpifPortNumber = 65535;

std::string port_label(const std::string& name) { return "port " + name; }

}  // namespace

Result<std::unique_ptr<UserspaceDpif>> UserspaceDpif::create(UserspaceDpifOptions options) {
  auto dpif = std::make_unique<UserspaceDpif>(ConstructionKey{}, options);
  if (options.kernel_underlay) {
    Result<std::unique_ptr<UnderlayResolver>> resolver = UnderlayResolver::create();
    if (!resolver) return resolver.status().with_context("userspace datapath: VXLAN underlay resolver");
    dpif->underlay_ = std::make_unique<SharedUnderlayResolver>(std::move(*resolver));
    if (Status s = dpif->local_addresses_.refresh(); !s) return s.with_context("userspace datapath");
  }
  dpif->start_receive_threads();
  return dpif;
}

UserspaceDpif::UserspaceDpif(ConstructionKey, UserspaceDpifOptions options)
    : options_(std::move(options)), upcalls_(options_.upcall_queue_limit) {}

UserspaceDpif::~UserspaceDpif() {
  stop_receive_threads();
  upcalls_.wake_all();
}

// ---- Ports ----

UserspaceDpif::PortPtr UserspaceDpif::find_port(uint32_t number) const {
  std::shared_lock lock(ports_mutex_);
  auto it = ports_.find(number);
  return it == ports_.end() ? nullptr : it->second;
}

UserspaceDpif::PortPtr UserspaceDpif::vxlan_port_for_udp_port(uint16_t udp_port) const {
  std::shared_lock lock(ports_mutex_);
  for (const auto& [number, port] : ports_)
    if (port->type == DpifPortType::kVxlan && port->vxlan_udp_port == udp_port) return port;
  return nullptr;
}

uint32_t UserspaceDpif::lowest_free_number_locked() const {
  uint32_t candidate = 1;
  for (const auto& [number, port] : ports_) {  // ordered: the first gap is the answer
    if (number < candidate) continue;
    if (number != candidate) break;
    ++candidate;
  }
  return candidate;
}

Result<uint32_t> UserspaceDpif::port_add(const DpifPortRequest& request) {
  std::lock_guard config(config_mutex_);
  return add_port_locked(request);
}

Result<uint32_t> UserspaceDpif::add_port_locked(const DpifPortRequest& request) {
  const std::string label = port_label(request.name);
  if (request.name.empty()) return invalid_argument("port: a port needs a name");
  if (request.number > kMaxDpifPortNumber)
    return invalid_argument(label + ": port number " + std::to_string(request.number) + " is above " +
                            std::to_string(kMaxDpifPortNumber));
  if (request.underlay_only && request.type != DpifPortType::kSystem)
    return invalid_argument(label + ": only system ports can be underlay_only");
  if (request.type == DpifPortType::kVxlan && request.vxlan_udp_port == 0)
    return invalid_argument(label + ": a vxlan port needs a non-zero UDP port");

  {
    std::shared_lock lock(ports_mutex_);
    for (const auto& [number, port] : ports_) {
      if (port->name == request.name) {
        // A device the datapath opened for VXLAN underlay traffic becomes a
        // bridge port when the configuration asks for it.
        bool promote = port->type == DpifPortType::kSystem && port->underlay_only &&
                       request.type == DpifPortType::kSystem && !request.underlay_only &&
                       (request.number == 0 || request.number == number);
        if (promote) {
          port->underlay_only = false;
          return number;
        }
        return Status(EEXIST, label + " already exists (port number " + std::to_string(number) + ")");
      }
      if (request.type == DpifPortType::kVxlan && port->type == DpifPortType::kVxlan &&
          port->vxlan_udp_port == request.vxlan_udp_port) {
        return Status(EEXIST, label + ": UDP port " + std::to_string(request.vxlan_udp_port) +
                                  " already belongs to vxlan port " + port->name);
      }
    }
    if (request.number != 0 && ports_.count(request.number)) {
      return Status(EEXIST, label + ": port number " + std::to_string(request.number) +
                                " is in use by port " + ports_.at(request.number)->name);
    }
  }

  auto port = std::make_shared<UserspaceDpifPort>();
  port->name = request.name;
  port->type = request.type;
  port->underlay_only = request.underlay_only;
  if (request.type == DpifPortType::kSystem) {
    Result<std::unique_ptr<AfPacketPort>> device = AfPacketPort::open(request.name, options_.af_packet);
    if (!device) return device.status().with_context(label);
    port->device = std::move(*device);
  }
  if (request.type == DpifPortType::kVxlan) {
    port->vxlan_udp_port = request.vxlan_udp_port;
    if (options_.kernel_underlay) {
      Result<VxlanUdpPortHolder> holder = VxlanUdpPortHolder::bind(request.vxlan_udp_port);
      // Without it the port still works; the host merely answers tunnel
      // packets with ICMP port unreachable, so say so on the port.
      if (holder) {
        port->udp_port_holder = std::move(*holder);
      } else {
        port->error = holder.status().message();
      }
    }
  }

  std::unique_lock lock(ports_mutex_);
  uint32_t number = request.number ? request.number : lowest_free_number_locked();
  if (number > kMaxDpifPortNumber) return Status(ENOSPC, label + ": no free port number left");
  port->number = number;
  if (request.type == DpifPortType::kSystem) {
    // The least loaded receive thread polls it.
    std::vector<size_t> load(receive_threads_.empty() ? 1 : receive_threads_.size(), 0);
    for (const auto& [n, other] : ports_)
      if (other->device) ++load[other->receive_thread % load.size()];
    port->receive_thread = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
  }
  ports_.emplace(number, std::move(port));
  lock.unlock();
  port_set_changed();
  return number;
}

Status UserspaceDpif::port_del(uint32_t number) {
  std::lock_guard config(config_mutex_);
  {
    std::unique_lock lock(ports_mutex_);
    // The port's socket closes when the last thread using it lets go (see
    // userspace_dpif_port.h), not here under a receive thread.
    if (!ports_.erase(number)) return Status(ENOENT, "no port number " + std::to_string(number));
  }
  tunnel_remotes_.erase(number);
  upcalls_.forget_port(number);
  port_set_changed();
  return Status::ok();
}

std::vector<DpifPort> UserspaceDpif::port_dump() const {
  std::vector<PortPtr> ports;
  {
    std::shared_lock lock(ports_mutex_);
    for (const auto& [number, port] : ports_) ports.push_back(port);
  }
  std::vector<DpifPort> out;
  for (const PortPtr& port : ports) {
    DpifPort entry;
    entry.number = port->number;
    entry.name = port->name;
    entry.type = port->type;
    entry.vxlan_udp_port = port->vxlan_udp_port;
    entry.underlay_only = port->underlay_only;
    const UserspaceDpifPortCounters& c = port->counters;
    auto read = [](const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
    entry.stats = {read(c.rx_packets), read(c.rx_bytes),   read(c.rx_dropped),  read(c.tx_packets),
                   read(c.tx_bytes),   read(c.tx_dropped), read(c.rx_malformed)};
    if (port->device) {
      // The socket's own counters: sends (tx is counted there only), frames
      // the kernel had no ring space for, frames too long for the ring.
      AfPacketCounters device;
      {
        std::scoped_lock lock(port->receive_mutex, port->transmit_mutex);
        device = port->device->counters();
      }
      entry.stats.tx_packets += device.tx_packets;
      entry.stats.tx_bytes += device.tx_bytes;
      entry.stats.tx_dropped += device.tx_dropped;
      entry.stats.rx_dropped += device.rx_dropped;
      entry.stats.rx_malformed += device.rx_truncated;
    }
    {
      std::lock_guard lock(port->state_mutex);
      entry.error = port->error;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

void UserspaceDpif::mark_device_gone(UserspaceDpifPort& port) {
  if (port.device_gone.exchange(true)) return;
  port.set_error("device " + port.name + " was removed");
  port_set_changed();  // its receive thread stops polling it
}

// ---- Flows ----

Result<DpifPutOutcome> UserspaceDpif::flow_put(const DpifFlowPut& put) {
  if (!put.create && !put.modify) return invalid_argument("flow_put: neither create nor modify is allowed");
  if (Status s = validate_actions(put.flow.actions, put.flow.match); !s) return s;
  if (!put.create) {  // OVS_FLOW_CMD_SET
    FlowSelector which = put.flow.ufid.is_zero() ? FlowSelector(put.flow.match) : FlowSelector(put.flow.ufid);
    Result<Megaflow> updated = table_.update_actions(which, put.flow.actions, put.clear_stats);
    if (!updated) return updated.status();
    return DpifPutOutcome::kActionsUpdated;
  }
  // OVS_FLOW_CMD_NEW. The kernel refuses an existing flow when the request
  // has NLM_F_CREATE or NLM_F_EXCL, and otherwise replaces its actions; so
  // a put that may modify carries neither flag.
  uint16_t flags = put.modify ? 0 : (MaskedFlowTable::kCreate | MaskedFlowTable::kExclusive);
  Result<InsertOutcome> inserted = table_.insert(put.flow, flags);
  if (!inserted) return inserted.status();
  if (*inserted == InsertOutcome::kCreated) return DpifPutOutcome::kCreated;
  if (put.clear_stats) {
    FlowSelector which = put.flow.ufid.is_zero() ? FlowSelector(put.flow.match) : FlowSelector(put.flow.ufid);
    if (Result<Megaflow> cleared = table_.update_actions(which, std::nullopt, true); !cleared) {
      return cleared.status();
    }
  }
  return DpifPutOutcome::kActionsUpdated;
}

std::vector<Result<DpifPutOutcome>> UserspaceDpif::flow_put_batch(std::span<const DpifFlowPut> puts) {
  if (!is_create_batch(puts)) return Dpif::flow_put_batch(puts);
  // The same action check as flow_put, then one table batch for the puts that pass.
  return insert_create_batch(table_, puts, [](const DpifFlowPut& put) {
    return validate_actions(put.flow.actions, put.flow.match);
  });
}

Result<Megaflow> UserspaceDpif::flow_get(const Ufid& ufid) const { return table_.get(ufid); }

Result<Megaflow> UserspaceDpif::flow_del(const Ufid& ufid) { return table_.remove(ufid); }

Status UserspaceDpif::flow_flush() {
  table_.flush();
  return Status::ok();
}

std::vector<Megaflow> UserspaceDpif::flow_dump() const { return table_.dump(); }

// ---- Upcalls and counters ----

size_t UserspaceDpif::recv_upcalls(size_t max, std::vector<DpifUpcall>& out) {
  return upcalls_.pop(max, out);
}

void UserspaceDpif::wait_for_upcalls(std::chrono::milliseconds timeout) { upcalls_.wait(timeout); }

void UserspaceDpif::wake_upcall_waiters() { upcalls_.wake_all(); }

namespace {
// How deep the calling thread is in begin/end_inject_batch: per thread, so
// that a receive thread's upcalls are never held back by an injecting one.
thread_local int inject_batch_depth = 0;
}  // namespace

void UserspaceDpif::queue_upcall(DpifUpcall upcall) {
  uint32_t port = upcall.key.in_port;
  if (!upcalls_.push(port, std::move(upcall), inject_batch_depth > 0))
    stats_.lost.fetch_add(1, std::memory_order_relaxed);
}

void UserspaceDpif::begin_inject_batch() { ++inject_batch_depth; }

void UserspaceDpif::end_inject_batch() {
  if (inject_batch_depth > 0 && --inject_batch_depth == 0) upcalls_.wake_for_queued();
}

DpifStats UserspaceDpif::stats() const {
  auto read = [](const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
  DpifStats s;
  s.hit = read(stats_.hit);
  s.missed = read(stats_.missed);
  s.lost = read(stats_.lost);
  s.flows = table_.count();
  s.masks = table_.mask_count();
  s.masks_visited = read(stats_.masks_visited);
  s.cache_hit = read(stats_.cache_hit);
  s.malformed = read(stats_.malformed);
  s.action_errors = read(stats_.action_errors);
  return s;
}

// ---- Dummy ports ----

Status UserspaceDpif::inject(uint32_t number, Packet packet) {
  PortPtr port = find_port(number);
  if (!port || port->type != DpifPortType::kDummy)
    return Status(ENODEV, "inject: port number " + std::to_string(number) + " is not a dummy port");
  LookupContextPool::Lease lease = context_pool_.lend();
  receive(lease.context(), *port, std::move(packet));
  return Status::ok();
}

Result<std::vector<Packet>> UserspaceDpif::capture(uint32_t number, size_t max) {
  PortPtr port = find_port(number);
  if (!port || port->type != DpifPortType::kDummy)
    return Status(ENODEV, "capture: port number " + std::to_string(number) + " is not a dummy port");
  std::vector<Packet> out;
  std::lock_guard lock(port->state_mutex);
  while (out.size() < max && !port->capture.empty()) {
    out.push_back(std::move(port->capture.front()));
    port->capture.pop_front();
  }
  return out;
}

}  // namespace flowlift
