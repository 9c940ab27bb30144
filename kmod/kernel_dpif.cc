// KernelDpif: opening the datapath, ports, flows, execute and upcalls.
#include "kmod/kernel_dpif.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <variant>

#include "flowlift/thread_name.h"
#include "kmod/kernel_dpif_packet.h"

namespace flowlift {
namespace {

constexpr size_t kReceiveBurst = 64;  // datagrams one socket gives per turn

// What `error` from the kernel means for a port named `name`.
Status port_add_error(const std::string& name, const Status& error) {
  switch (error.code()) {
    case EBUSY:
      return Status(
          EEXIST, "port " + name + ": the device is already a port of a datapath (" + error.message() + ")");
    case ENODEV:
      return Status(ENODEV, "port " + name + ": no network device of that name (" + error.message() + ")");
    case EEXIST:
      return Status(EEXIST, "port " + name + ": name or number in use (" + error.message() + ")");
    case EFBIG:
      return Status(EINVAL, "port " + name + ": port number too large (" + error.message() + ")");
    default:
      return error.with_context("port " + name);
  }
}

// Userspace actions whose pid is `from` get `to`, nested lists included.
void replace_userspace_pid(ActionList& actions, uint32_t from, uint32_t to) {
  for (Action& action : actions) {
    if (action.is<UserspaceAction>()) {
      if (action.as<UserspaceAction>().pid == from) action.as<UserspaceAction>().pid = to;
    } else if (action.is<SampleAction>()) {
      replace_userspace_pid(action.as<SampleAction>().actions, from, to);
    } else if (action.is<CloneAction>()) {
      replace_userspace_pid(action.as<CloneAction>().actions, from, to);
    } else if (action.is<CheckPktLenAction>()) {
      replace_userspace_pid(action.as<CheckPktLenAction>().if_greater, from, to);
      replace_userspace_pid(action.as<CheckPktLenAction>().if_less_equal, from, to);
    }
  }
}

}  // namespace

Result<std::unique_ptr<KernelDpif>> KernelDpif::open(std::string_view name, KernelDpifOptions options) {
  if (name.empty() || name.size() >= 16) {
    return invalid_argument("datapath name '" + std::string(name) + "': expected 1 to 15 characters");
  }
  if (options.upcall_sockets == 0) options.upcall_sockets = 1;
  auto dpif = std::make_unique<KernelDpif>(ConstructionKey{}, std::string(name), options);
  bool created = false;
  if (Status s = dpif->connect(&created); !s) {
    // A datapath we created and could not finish setting up is not left
    // behind; one we only opened is left as it was.
    if (created && dpif->request_socket_) {
      (void)dpif->request(dpif->families_.datapath, OVS_DP_CMD_DEL, OVS_DATAPATH_VERSION, 0,
                          build_datapath_by_name(dpif->name_));
    }
    dpif->dp_ifindex_ = 0;
    return s;
  }
  return dpif;
}

KernelDpif::KernelDpif(ConstructionKey, std::string name, KernelDpifOptions options)
    : name_(std::move(name)), options_(options), upcalls_(options.upcall_queue_limit) {}

KernelDpif::~KernelDpif() {
  if (receive_thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    receive_thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (options_.delete_on_close && dp_ifindex_ != 0 && request_socket_) {
    auto payload = build_datapath_by_name(name_);
    (void)request(families_.datapath, OVS_DP_CMD_DEL, OVS_DATAPATH_VERSION, 0, payload);
  }
}

Status KernelDpif::connect(bool* created) {
  auto socket = GenlSocket::open();
  if (!socket) return socket.status();
  request_socket_ = std::move(*socket);
  auto families = resolve_ovs_genl_families();
  if (!families) return families.status();
  families_ = *families;
  if (Status s = start_upcall_sockets(); !s) return s;

  std::vector<uint32_t> pids = upcall_socket_pids();
  KernelDatapathCreate create;
  create.name = name_;
  create.upcall_pid = pids.front();
  create.user_features = kKernelDatapathBaseFeatures;
  if (options_.per_cpu_dispatch) {
    create.user_features |= OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
    int cpus = get_nprocs_conf();
    for (int cpu = 0; cpu < (cpus > 0 ? cpus : 1); ++cpu)
      create.per_cpu_pids.push_back(pids[cpu % pids.size()]);
  }

  Status status;
  if (options_.create) {
    auto payload = build_datapath_with_features(create);
    auto reply = request(families_.datapath, OVS_DP_CMD_NEW, OVS_DATAPATH_VERSION, 0, payload);
    if (!reply && reply.status().code() == EOPNOTSUPP && options_.per_cpu_dispatch) {
      // A kernel before per-CPU dispatch refuses the unknown feature bit.
      create.user_features &= ~OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
      create.per_cpu_pids.clear();
      payload = build_datapath_with_features(create);
      reply = request(families_.datapath, OVS_DP_CMD_NEW, OVS_DATAPATH_VERSION, 0, payload);
    }
    status = reply.status();
    if (status) *created = true;
    if (!status && status.code() == EEXIST && options_.exclusive) {
      return Status(EEXIST, "datapath " + name_ + " exists already (" + status.message() + ")");
    }
    if (!status && status.code() != EEXIST) return status.with_context("creating datapath " + name_);
  }
  if (!*created) {
    // Open the existing datapath: our features and upcall sockets replace
    // those of whoever set it up (as ovs-vswitchd does on restart).
    auto payload = build_datapath_with_features(create);
    auto reply = request(families_.datapath, OVS_DP_CMD_SET, OVS_DATAPATH_VERSION, 0, payload);
    if (!reply && reply.status().code() == EOPNOTSUPP && options_.per_cpu_dispatch) {
      create.user_features &= ~OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
      create.per_cpu_pids.clear();
      payload = build_datapath_with_features(create);
      reply = request(families_.datapath, OVS_DP_CMD_SET, OVS_DATAPATH_VERSION, 0, payload);
    }
    if (!reply) {
      if (reply.status().code() == ENODEV || reply.status().code() == ENOENT) {
        return Status(ENODEV, "datapath " + name_ + " does not exist (" + reply.status().message() + ")");
      }
      return reply.status().with_context("opening datapath " + name_);
    }
  }
  auto info = datapath_info();
  if (!info) return info.status().with_context("datapath " + name_);
  dp_ifindex_ = info->dp_ifindex;
  user_features_ = info->user_features;
  if (!*created && !per_cpu_dispatch()) {
    if (Status s = refresh_vport_upcall_pids(); !s) return s;
  }
  receive_thread_ = std::thread([this] { receive_loop(); });
  return Status::ok();
}

Status KernelDpif::start_upcall_sockets() {
  for (size_t i = 0; i < options_.upcall_sockets; ++i) {
    auto socket = GenlSocket::open(options_.upcall_socket_buffer);
    if (!socket) return socket.status().with_context("upcall socket");
    upcall_sockets_.push_back(std::move(*socket));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return Status(errno, std::string("eventfd: ") + std::strerror(errno));
  return Status::ok();
}

std::vector<uint32_t> KernelDpif::upcall_socket_pids() const {
  std::vector<uint32_t> pids;
  for (const auto& socket : upcall_sockets_) pids.push_back(socket->port_id());
  return pids;
}

Status KernelDpif::refresh_vport_upcall_pids() {
  auto vports = vport_dump();
  if (!vports) return vports.status();
  std::vector<uint32_t> pids = upcall_socket_pids();
  for (const KernelVportInfo& vport : *vports) {
    auto payload = build_vport_set_upcall_pids(dp_ifindex_, vport.number, pids);
    auto reply = request(families_.vport, OVS_VPORT_CMD_SET, OVS_VPORT_VERSION, 0, payload);
    if (!reply) return reply.status().with_context("setting the upcall sockets of port " + vport.name);
  }
  return Status::ok();
}

Result<std::vector<GenlMessage>> KernelDpif::request(uint16_t family, uint8_t command, uint8_t version,
                                                     uint16_t flags, std::span<const uint8_t> payload) const {
  std::lock_guard lock(request_mutex_);
  return request_socket_->transact(family, command, version, flags, payload);
}

Result<std::vector<GenlMessage>> KernelDpif::dump_request(uint16_t family, uint8_t command, uint8_t version,
                                                          std::span<const uint8_t> payload) const {
  std::lock_guard lock(request_mutex_);
  return request_socket_->dump(family, command, version, payload);
}

Result<KernelDatapathInfo> KernelDpif::datapath_info() const {
  auto payload = build_datapath_by_name(name_);
  auto reply = request(families_.datapath, OVS_DP_CMD_GET, OVS_DATAPATH_VERSION, 0, payload);
  if (!reply) return reply.status();
  if (reply->empty()) return Status(EPROTO, "OVS_DP_CMD_GET of " + name_ + " was answered with no datapath");
  return parse_datapath_reply(reply->front().payload);
}

// ---- Ports ----

Result<uint32_t> KernelDpif::add_vport(const KernelVportCreate& create, DpifPortType type) {
  auto payload = build_vport_new(create);
  // NLM_F_ECHO: the reply names the number the kernel picked.
  auto reply = request(families_.vport, OVS_VPORT_CMD_NEW, OVS_VPORT_VERSION, NLM_F_ECHO, payload);
  if (!reply) return port_add_error(create.name, reply.status());
  uint32_t number = create.number;
  if (!reply->empty()) {
    auto info = parse_vport_reply(reply->front().payload);
    if (!info) return info.status().with_context("port " + create.name);
    number = info->number;
  } else {
    auto get =
        request(families_.vport, OVS_VPORT_CMD_GET, OVS_VPORT_VERSION, 0, build_vport_by_name(create.name));
    if (!get || get->empty())
      return Status(EPROTO, "port " + create.name + " was added but cannot be read back");
    auto info = parse_vport_reply(get->front().payload);
    if (!info) return info.status().with_context("port " + create.name);
    number = info->number;
  }
  std::lock_guard lock(ports_mutex_);
  known_ports_[number] = KnownPort{create.name, type, create.vxlan_udp_port.value_or(0)};
  return number;
}

Result<uint32_t> KernelDpif::port_add(const DpifPortRequest& request) {
  KernelVportCreate create;
  create.dp_ifindex = dp_ifindex_;
  create.name = request.name;
  create.number = request.number;
  create.upcall_pids = upcall_socket_pids();
  switch (request.type) {
    case DpifPortType::kSystem:
      if (request.underlay_only) {
        // The kernel's VXLAN vports send and receive through the host's own
        // stack; an underlay device needs no port here.
        return Status(EOPNOTSUPP, "port " + request.name +
                                      ": underlay-only ports belong to the userspace datapath; the kernel "
                                      "reaches tunnel underlays through the host's routing");
      }
      create.type = OVS_VPORT_TYPE_NETDEV;
      break;
    case DpifPortType::kVxlan:
      create.type = OVS_VPORT_TYPE_VXLAN;
      create.vxlan_udp_port = request.vxlan_udp_port;
      break;
    case DpifPortType::kDummy:
      return Status(EOPNOTSUPP, "port " + request.name + ": the kernel datapath has no dummy ports");
  }
  if (request.name.empty() || request.name.size() >= 16) {
    return invalid_argument("port '" + request.name + "': a kernel port name has 1 to 15 characters");
  }
  return add_vport(create, request.type);
}

Result<uint32_t> KernelDpif::internal_port_add(const std::string& name, uint32_t number) {
  if (name.empty() || name.size() >= 16) {
    return invalid_argument("port '" + name + "': a kernel port name has 1 to 15 characters");
  }
  KernelVportCreate create;
  create.dp_ifindex = dp_ifindex_;
  create.name = name;
  create.number = number;
  create.type = OVS_VPORT_TYPE_INTERNAL;
  create.upcall_pids = upcall_socket_pids();
  return add_vport(create, DpifPortType::kSystem);
}

Status KernelDpif::port_del(uint32_t number) {
  if (number == OVSP_LOCAL) return invalid_argument("port 0 is the datapath's own local port");
  auto reply = request(families_.vport, OVS_VPORT_CMD_DEL, OVS_VPORT_VERSION, 0,
                       build_vport_by_number(dp_ifindex_, number));
  std::lock_guard lock(ports_mutex_);
  bool known = known_ports_.erase(number) > 0;
  if (!reply) {
    // The kernel already dropped the vport of a removed netdev.
    bool no_such_port = reply.status().code() == ENODEV || reply.status().code() == ENOENT;
    if (no_such_port && known) return Status::ok();
    if (no_such_port) {
      return Status(ENOENT,
                    "no port number " + std::to_string(number) + " (" + reply.status().message() + ")");
    }
    return reply.status().with_context("port " + std::to_string(number));
  }
  upcalls_.forget_port(number);
  return Status::ok();
}

Result<std::vector<KernelVportInfo>> KernelDpif::vport_dump() const {
  auto replies =
      dump_request(families_.vport, OVS_VPORT_CMD_GET, OVS_VPORT_VERSION, build_vport_dump(dp_ifindex_));
  if (!replies) return replies.status();
  std::vector<KernelVportInfo> vports;
  for (const GenlMessage& message : *replies) {
    auto info = parse_vport_reply(message.payload);
    if (!info) return info.status();
    vports.push_back(std::move(*info));
  }
  return vports;
}

std::vector<DpifPort> KernelDpif::port_dump() const {
  std::vector<DpifPort> ports;
  auto vports = vport_dump();
  if (!vports) return ports;
  std::map<uint32_t, KnownPort> missing;
  {
    std::lock_guard lock(ports_mutex_);
    missing = known_ports_;
  }
  for (const KernelVportInfo& vport : *vports) {
    if (vport.number == OVSP_LOCAL) continue;
    missing.erase(vport.number);
    DpifPort port;
    port.number = vport.number;
    port.name = vport.name;
    port.type = vport.type == OVS_VPORT_TYPE_VXLAN ? DpifPortType::kVxlan : DpifPortType::kSystem;
    port.vxlan_udp_port = vport.vxlan_udp_port.value_or(0);
    port.stats.rx_packets = vport.stats.rx_packets;
    port.stats.rx_bytes = vport.stats.rx_bytes;
    port.stats.rx_dropped = vport.stats.rx_dropped;
    port.stats.tx_packets = vport.stats.tx_packets;
    port.stats.tx_bytes = vport.stats.tx_bytes;
    port.stats.tx_dropped = vport.stats.tx_dropped;
    port.stats.rx_malformed = vport.stats.rx_errors;
    ports.push_back(std::move(port));
  }
  for (const auto& [number, known] : missing) {
    DpifPort port;
    port.number = number;
    port.name = known.name;
    port.type = known.type;
    port.vxlan_udp_port = known.vxlan_udp_port;
    port.error = "device " + known.name + " was removed";
    ports.push_back(std::move(port));
  }
  std::sort(ports.begin(), ports.end(),
            [](const DpifPort& a, const DpifPort& b) { return a.number < b.number; });
  return ports;
}

// ---- Flows ----

ActionList KernelDpif::with_upcall_pids(const ActionList& actions) const {
  ActionList copy = actions;
  // Under per-CPU dispatch the kernel sends a userspace action's upcall to
  // the socket of the CPU it runs on and ignores the pid, but it still
  // refuses a pid of 0 (validate_userspace: EINVAL), so the pid is filled
  // in whatever the dispatch mode.
  if (!upcall_sockets_.empty()) {
    replace_userspace_pid(copy, 0, upcall_sockets_.front()->port_id());
  }
  return copy;
}

Result<Megaflow> KernelDpif::read_flow(std::span<const uint8_t> payload) const {
  Result<Megaflow> flow = parse_flow_reply(payload);
  // The pid put in by with_upcall_pids() goes back to 0, so that the
  // revalidator finds the actions it translated, not ones that differ.
  if (flow && !upcall_sockets_.empty()) {
    replace_userspace_pid(flow->actions, upcall_sockets_.front()->port_id(), 0);
  }
  return flow;
}

Result<DpifPutOutcome> KernelDpif::put_new(const Megaflow& flow) {
  auto payload = build_flow_put(dp_ifindex_, flow, false);
  if (!payload) return payload.status();
  auto reply =
      request(families_.flow, OVS_FLOW_CMD_NEW, OVS_FLOW_VERSION, NLM_F_CREATE | NLM_F_EXCL, *payload);
  if (!reply) return reply.status();
  return DpifPutOutcome::kCreated;
}

Result<DpifPutOutcome> KernelDpif::put_set(const Megaflow& flow, bool clear_stats) {
  auto payload = build_flow_put(dp_ifindex_, flow, clear_stats);
  if (!payload) return payload.status();
  auto reply = request(families_.flow, OVS_FLOW_CMD_SET, OVS_FLOW_VERSION, 0, *payload);
  if (!reply) return reply.status();
  return DpifPutOutcome::kActionsUpdated;
}

Result<DpifPutOutcome> KernelDpif::flow_put(const DpifFlowPut& put) {
  if (put.flow.ufid.is_zero()) return invalid_argument("flow put: the flow has no UFID");
  if (!put.create && !put.modify) return invalid_argument("flow put: neither create nor modify allowed");
  Megaflow flow = put.flow;
  flow.actions = with_upcall_pids(put.flow.actions);
  // Create first, then modify: the outcome is then known exactly, which the
  // kernel's NEW without NLM_F_EXCL would not tell. A flow deleted between
  // the two (ENOENT on SET) is created again, once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (put.create) {
      auto created = put_new(flow);
      if (created || created.status().code() != EEXIST || !put.modify) {
        if (!created && created.status().code() == EEXIST)
          return Status(EEXIST, "flow exists (" + created.status().message() + ")");
        return created;
      }
    }
    auto modified = put_set(flow, put.clear_stats);
    if (modified || modified.status().code() != ENOENT || !put.create) {
      if (!modified && modified.status().code() == ENOENT)
        return Status(ENOENT, "no such flow (" + modified.status().message() + ")");
      return modified;
    }
  }
  return Status(EAGAIN, "flow put: the flow was created and deleted again under us twice");
}

Result<Megaflow> KernelDpif::flow_get(const Ufid& ufid) const {
  auto reply = request(families_.flow, OVS_FLOW_CMD_GET, OVS_FLOW_VERSION, 0,
                       build_flow_by_ufid(dp_ifindex_, ufid, 0));
  if (!reply) return reply.status();
  if (reply->empty()) return Status(EPROTO, "OVS_FLOW_CMD_GET was answered with no flow");
  return read_flow(reply->front().payload);
}

Result<Megaflow> KernelDpif::flow_del(const Ufid& ufid) {
  // NLM_F_ECHO: the kernel answers with the flow and its final statistics.
  auto reply = request(families_.flow, OVS_FLOW_CMD_DEL, OVS_FLOW_VERSION, NLM_F_ECHO,
                       build_flow_by_ufid(dp_ifindex_, ufid, 0));
  if (!reply) return reply.status();
  if (reply->empty()) {
    Megaflow gone;
    gone.ufid = ufid;
    return gone;
  }
  return read_flow(reply->front().payload);
}

Status KernelDpif::flow_flush() {
  auto reply = request(families_.flow, OVS_FLOW_CMD_DEL, OVS_FLOW_VERSION, 0, build_flow_flush(dp_ifindex_));
  return reply.status();
}

Result<std::vector<Megaflow>> KernelDpif::flow_dump_checked() const {
  auto replies =
      dump_request(families_.flow, OVS_FLOW_CMD_GET, OVS_FLOW_VERSION, build_flow_dump(dp_ifindex_, 0));
  if (!replies) return replies.status();
  std::vector<Megaflow> flows;
  flows.reserve(replies->size());
  for (const GenlMessage& message : *replies) {
    auto flow = read_flow(message.payload);
    if (!flow) return flow.status();
    flows.push_back(std::move(*flow));
  }
  return flows;
}

std::vector<Megaflow> KernelDpif::flow_dump() const {
  // Unlike flow_dump_checked(), one flow flowlift cannot read (installed by
  // another tool with attributes the codec refuses) does not hide the others
  // from the revalidator: it is skipped and counted.
  auto replies =
      dump_request(families_.flow, OVS_FLOW_CMD_GET, OVS_FLOW_VERSION, build_flow_dump(dp_ifindex_, 0));
  if (!replies) return {};
  std::vector<Megaflow> flows;
  flows.reserve(replies->size());
  for (const GenlMessage& message : *replies) {
    auto flow = read_flow(message.payload);
    if (!flow) {
      flow_parse_errors_.fetch_add(1);
      continue;
    }
    flows.push_back(std::move(*flow));
  }
  return flows;
}

Result<std::vector<KernelFlowIdentity>> KernelDpif::flow_dump_ufids() const {
  auto replies = dump_request(families_.flow, OVS_FLOW_CMD_GET, OVS_FLOW_VERSION,
                              build_flow_dump(dp_ifindex_, kUfidOnlyFlags));
  if (!replies) return replies.status();
  std::vector<KernelFlowIdentity> flows;
  for (const GenlMessage& message : *replies) {
    auto identity = parse_flow_identity_reply(message.payload);
    if (!identity) return identity.status();
    flows.push_back(*identity);
  }
  return flows;
}

// ---- Packets ----

Status KernelDpif::execute(Packet packet, const FlowKey& key, const ActionList& actions) {
  auto payload = build_packet_execute(dp_ifindex_, packet, key, with_upcall_pids(actions));
  if (!payload) return payload.status();
  auto reply = request(families_.packet, OVS_PACKET_CMD_EXECUTE, OVS_PACKET_VERSION, 0, *payload);
  return reply.status().with_context("execute");
}

// ---- Upcalls ----

void KernelDpif::receive_loop() {
  set_thread_name("upcall-rx");
  std::vector<pollfd> fds;
  for (const auto& socket : upcall_sockets_) fds.push_back({socket->fd(), POLLIN, 0});
  fds.push_back({stop_fd_, POLLIN, 0});
  while (true) {
    int ready = ::poll(fds.data(), fds.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds.back().revents) return;
    bool queued = false;
    // A bounded burst per socket in turn: one busy socket cannot hold the
    // others' upcalls back.
    for (size_t i = 0; i < upcall_sockets_.size(); ++i) {
      if (!fds[i].revents) continue;
      for (size_t burst = 0; burst < kReceiveBurst; ++burst) {
        auto messages = upcall_sockets_[i]->receive_nonblocking();
        if (!messages) {
          // ENOBUFS: the kernel could not queue upcalls (it counts them in
          // its n_lost); anything else is counted too and retried.
          socket_overruns_.fetch_add(1);
          continue;
        }
        if (messages->empty()) break;
        for (GenlMessage& message : *messages) {
          if (message.family != families_.packet) continue;
          auto upcall = parse_upcall(message);
          if (!upcall) {
            upcall_parse_errors_.fetch_add(1);
            continue;
          }
          uint32_t port = upcall->upcall.key.in_port;
          if (upcalls_.push(port, std::move(upcall->upcall), true)) {
            queued = true;
          } else {
            queue_lost_.fetch_add(1);
          }
        }
      }
    }
    if (queued) upcalls_.wake_for_queued();
  }
}

size_t KernelDpif::recv_upcalls(size_t max, std::vector<DpifUpcall>& out) { return upcalls_.pop(max, out); }

void KernelDpif::wait_for_upcalls(std::chrono::milliseconds timeout) { upcalls_.wait(timeout); }

void KernelDpif::wake_upcall_waiters() { upcalls_.wake_all(); }

DpifStats KernelDpif::stats() const {
  DpifStats stats;
  auto info = datapath_info();
  if (info) {
    stats.hit = info->hit;
    stats.missed = info->missed;
    stats.lost = info->lost;
    stats.flows = info->flows;
    stats.masks = info->masks;
    stats.masks_visited = info->mask_hit;
    stats.cache_hit = info->cache_hit;
  }
  stats.lost += queue_lost_.load();
  return stats;
}

}  // namespace flowlift
