// Reads routes, neighbours and links from rtnetlink with libnl-route-3. The
// route request is built by hand (libnl has no `ip route get` call) and its
// answer parsed by rtnl_route_parse; neighbours come from a dump into a libnl
// cache (one table, small next to the route lookups it saves), links from
// RTM_GETLINK for the one output interface.
#include "kmod/underlay_resolver.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <cctype>
#include <cstring>

namespace flowlift {

namespace {

// What one RTM_GETROUTE answer said, copied out of libnl's objects.
struct KernelRouteAnswer {
  bool received = false;
  bool done = false;
  int error = 0;  // errno from an NLMSG_ERROR
  uint8_t type = 0;
  int ifindex = 0;
  uint32_t nexthop_flags = 0;
  std::optional<UnderlayAddress> gateway;
  std::optional<UnderlayAddress> preferred_source;
};

std::optional<UnderlayAddress> address_from_nl(nl_addr* address) {
  if (address == nullptr) return std::nullopt;
  UnderlayAddress out;
  out.family = nl_addr_get_family(address);
  size_t length = nl_addr_get_len(address);
  if ((out.family != AF_INET && out.family != AF_INET6) || length != out.length()) return std::nullopt;
  std::memcpy(out.bytes.data(), nl_addr_get_binary_addr(address), length);
  return out;
}

struct NlAddrPut {
  void operator()(nl_addr* address) const { nl_addr_put(address); }
};
std::unique_ptr<nl_addr, NlAddrPut> address_to_nl(const UnderlayAddress& address) {
  return std::unique_ptr<nl_addr, NlAddrPut>(
      nl_addr_build(address.family, address.bytes.data(), address.length()));
}
struct NlMsgFree {
  void operator()(nl_msg* message) const { nlmsg_free(message); }
};
struct NlCbPut {
  void operator()(nl_cb* callbacks) const { nl_cb_put(callbacks); }
};
struct NlCachePut {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
struct RtnlLinkPut {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct RtnlNeighPut {
  void operator()(rtnl_neigh* neighbour) const { rtnl_neigh_put(neighbour); }
};

int on_route_message(nl_msg* message, void* argument) {
  auto& answer = *static_cast<KernelRouteAnswer*>(argument);
  nlmsghdr* header = nlmsg_hdr(message);
  if (header->nlmsg_type != RTM_NEWROUTE) return NL_SKIP;
  rtnl_route* route = nullptr;
  if (rtnl_route_parse(header, &route) < 0 || route == nullptr) return NL_SKIP;
  answer.received = true;
  answer.type = rtnl_route_get_type(route);
  answer.preferred_source = address_from_nl(rtnl_route_get_pref_src(route));
  if (rtnl_route_get_nnexthops(route) > 0) {
    rtnl_nexthop* nexthop = rtnl_route_nexthop_n(route, 0);
    answer.ifindex = rtnl_route_nh_get_ifindex(nexthop);
    answer.nexthop_flags = rtnl_route_nh_get_flags(nexthop);
    answer.gateway = address_from_nl(rtnl_route_nh_get_gateway(nexthop));
  }
  rtnl_route_put(route);
  return NL_OK;
}

int on_ack(nl_msg*, void* argument) {
  static_cast<KernelRouteAnswer*>(argument)->done = true;
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* error, void* argument) {
  auto& answer = *static_cast<KernelRouteAnswer*>(argument);
  answer.error = -error->error;
  answer.done = true;
  return NL_STOP;
}

// Sends `message` and reads until its ACK or error; RTM_NEWROUTE answers go
// into `answer`. Returns a Status only for transport failures.
Status exchange(nl_sock* socket, nl_msg* message, KernelRouteAnswer& answer) {
  std::unique_ptr<nl_cb, NlCbPut> callbacks(nl_cb_alloc(NL_CB_DEFAULT));
  if (!callbacks) return Status(ENOMEM, "rtnetlink: cannot allocate callbacks");
  nl_cb_set(callbacks.get(), NL_CB_VALID, NL_CB_CUSTOM, on_route_message, &answer);
  nl_cb_set(callbacks.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &answer);
  nl_cb_err(callbacks.get(), NL_CB_CUSTOM, on_error, &answer);
  int sent = nl_send_auto(socket, message);
  if (sent < 0) return Status(EIO, std::string("rtnetlink send: ") + nl_geterror(sent));
  while (!answer.done) {
    int received = nl_recvmsgs(socket, callbacks.get());
    if (answer.done) break;
    if (received < 0) return Status(EIO, std::string("rtnetlink receive: ") + nl_geterror(received));
  }
  return Status::ok();
}

const char* family_name(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

bool neighbour_state_is_usable(uint16_t state) {
  return (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0;
}

}  // namespace

UnderlayAddress UnderlayAddress::ipv4(Be32 address) {
  UnderlayAddress out;
  out.family = AF_INET;
  std::memcpy(out.bytes.data(), &address, 4);
  return out;
}

UnderlayAddress UnderlayAddress::ipv6(const Ipv6Addr& address) {
  UnderlayAddress out;
  out.family = AF_INET6;
  std::memcpy(out.bytes.data(), address.data(), 16);
  return out;
}

Result<UnderlayAddress> UnderlayAddress::parse(const std::string& text) {
  UnderlayAddress out;
  if (inet_pton(AF_INET, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    return out;
  }
  return invalid_argument("\"" + text + "\" is not an IPv4 or IPv6 address");
}

Be32 UnderlayAddress::as_ipv4() const {
  Be32 address = 0;
  std::memcpy(&address, bytes.data(), 4);
  return address;
}

Ipv6Addr UnderlayAddress::as_ipv6() const {
  Ipv6Addr address{};
  std::memcpy(address.data(), bytes.data(), 16);
  return address;
}

std::string UnderlayAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "(no address)";
  inet_ntop(family, bytes.data(), text, sizeof text);
  return text;
}

void UnderlayPath::apply_to(VxlanEndpoint& endpoint) const {
  endpoint.src_mac = local_mac;
  endpoint.dst_mac = next_hop_mac;
  if (local.family == AF_INET) endpoint.local_ipv4 = local.as_ipv4();
  if (local.family == AF_INET6) endpoint.local_ipv6 = local.as_ipv6();
}

std::string neighbour_state_name(uint16_t state) {
  if (state == NUD_NONE) return "NONE";
  char text[64] = {};
  rtnl_neigh_state2str(state, text, sizeof text);
  std::string name(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

void UnderlayResolver::NlSocketFree::operator()(nl_sock* socket) const { nl_socket_free(socket); }

UnderlayResolver::UnderlayResolver(Options options, NlSocketPtr query, NlSocketPtr changes)
    : options_(options), query_socket_(std::move(query)), change_socket_(std::move(changes)) {}

UnderlayResolver::~UnderlayResolver() = default;

// The change socket's message handler: a friend, so it can reach the cache.
struct UnderlayChangeHandler {
  static int on_message(nl_msg* message, void* argument) {
    auto& resolver = *static_cast<UnderlayResolver*>(argument);
    nlmsghdr* header = nlmsg_hdr(message);
    if (header->nlmsg_type == RTM_NEWNEIGH || header->nlmsg_type == RTM_DELNEIGH) {
      rtnl_neigh* neighbour = nullptr;
      if (rtnl_neigh_parse(header, &neighbour) >= 0 && neighbour != nullptr) {
        std::optional<UnderlayAddress> destination = address_from_nl(rtnl_neigh_get_dst(neighbour));
        rtnl_neigh_put(neighbour);
        if (destination) {
          resolver.invalidate_next_hop(*destination);
          return NL_OK;
        }
      }
    }
    resolver.cache_.clear();
    return NL_OK;
  }
};

Result<std::unique_ptr<UnderlayResolver>> UnderlayResolver::create(Options options) {
  NlSocketPtr query(nl_socket_alloc());
  if (!query) return Status(ENOMEM, "rtnetlink: cannot allocate a socket");
  if (int error = nl_connect(query.get(), NETLINK_ROUTE); error < 0) {
    return Status(EIO, std::string("rtnetlink: cannot connect: ") + nl_geterror(error));
  }
  NlSocketPtr changes;
  if (options.listen_for_changes) {
    changes.reset(nl_socket_alloc());
    if (!changes) return Status(ENOMEM, "rtnetlink: cannot allocate the change socket");
    // Multicast messages carry no sequence numbers of ours.
    nl_socket_disable_seq_check(changes.get());
    if (int error = nl_connect(changes.get(), NETLINK_ROUTE); error < 0) {
      return Status(EIO, std::string("rtnetlink: cannot connect the change socket: ") + nl_geterror(error));
    }
    if (int error =
            nl_socket_add_memberships(changes.get(), RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
                                      RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
        error < 0) {
      return Status(EIO, std::string("rtnetlink: cannot join the change groups: ") + nl_geterror(error));
    }
    if (int error = nl_socket_set_nonblocking(changes.get()); error < 0) {
      return Status(EIO, std::string("rtnetlink: change socket: ") + nl_geterror(error));
    }
  }
  std::unique_ptr<UnderlayResolver> resolver(
      new UnderlayResolver(options, std::move(query), std::move(changes)));  // private constructor
  if (resolver->change_socket_) {
    nl_socket_modify_cb(resolver->change_socket_.get(), NL_CB_VALID, NL_CB_CUSTOM,
                        UnderlayChangeHandler::on_message, resolver.get());
  }
  return resolver;
}

Result<UnderlayPath> UnderlayResolver::resolve(const UnderlayAddress& remote, Clock::time_point now) {
  auto cached = cache_.find(remote);
  if (cached != cache_.end()) {
    if (now - cached->second.last_used < kIdleExpiry) {
      cached->second.last_used = now;
      return cached->second.path;
    }
    cache_.erase(cached);
  }
  Result<UnderlayPath> path = resolve_uncached(remote);
  if (path) cache_[remote] = CachedUnderlayPath{*path, now};
  return path;
}

Result<UnderlayPath> UnderlayResolver::resolve_uncached(const UnderlayAddress& remote) {
  if (remote.family != AF_INET && remote.family != AF_INET6) {
    return invalid_argument("remote VTEP address has no address family");
  }
  const std::string remote_text = remote.to_string();

  // The route: what `ip route get REMOTE` asks.
  std::unique_ptr<nl_msg, NlMsgFree> request(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST));
  if (!request) return Status(ENOMEM, "rtnetlink: cannot allocate a message");
  rtmsg route_header{};
  route_header.rtm_family = static_cast<uint8_t>(remote.family);
  route_header.rtm_dst_len = static_cast<uint8_t>(remote.length() * 8);
  if (nlmsg_append(request.get(), &route_header, sizeof route_header, NLMSG_ALIGNTO) < 0 ||
      nla_put(request.get(), RTA_DST, static_cast<int>(remote.length()), remote.bytes.data()) < 0) {
    return Status(ENOMEM, "rtnetlink: cannot build the route request");
  }
  KernelRouteAnswer route;
  if (Status sent = exchange(query_socket_.get(), request.get(), route); !sent) return sent;
  if (route.error == ENETUNREACH || route.error == EHOSTUNREACH || route.error == ESRCH) {
    return Status(ENETUNREACH, "no route to " + remote_text);
  }
  if (route.error != 0) {
    return Status(route.error, "route to " + remote_text + ": " + std::strerror(route.error));
  }
  if (!route.received) return Status(EIO, "route to " + remote_text + ": the kernel sent no route");
  if (route.type == RTN_LOCAL) {
    return Status(EHOSTUNREACH, remote_text + " is an address of this host, not a remote VTEP");
  }
  if (route.type != RTN_UNICAST) {
    return Status(EHOSTUNREACH,
                  "route to " + remote_text + " is not unicast (type " + std::to_string(route.type) + ")");
  }
  if (route.ifindex <= 0) return Status(ENETUNREACH, "route to " + remote_text + " has no output interface");

  UnderlayPath path;
  path.remote = remote;
  path.output_ifindex = route.ifindex;
  path.gateway = route.gateway;
  path.next_hop = route.gateway ? *route.gateway : remote;

  // The output interface: name, MAC, state.
  rtnl_link* raw_link = nullptr;
  if (int error = rtnl_link_get_kernel(query_socket_.get(), route.ifindex, nullptr, &raw_link); error < 0) {
    return Status(ENODEV, "route to " + remote_text + ": interface " + std::to_string(route.ifindex) + ": " +
                              nl_geterror(error));
  }
  std::unique_ptr<rtnl_link, RtnlLinkPut> link(raw_link);
  const char* name = rtnl_link_get_name(link.get());
  path.output_ifname = name != nullptr ? name : std::to_string(route.ifindex);
  unsigned int flags = rtnl_link_get_flags(link.get());
  if ((flags & IFF_UP) == 0) return Status(ENETDOWN, "interface " + path.output_ifname + " is down");
  if ((flags & IFF_LOWER_UP) == 0 || (route.nexthop_flags & RTNH_F_LINKDOWN) != 0) {
    return Status(ENETDOWN, "interface " + path.output_ifname + " is down (no carrier)");
  }
  nl_addr* link_address = rtnl_link_get_addr(link.get());
  bool link_is_ethernet = link_address != nullptr && nl_addr_get_len(link_address) == 6;
  if (link_is_ethernet) std::memcpy(path.local_mac.data(), nl_addr_get_binary_addr(link_address), 6);

  // The local address: the route's preferred source, of the remote's family.
  if (!route.preferred_source || route.preferred_source->family != remote.family) {
    return Status(EADDRNOTAVAIL, "interface " + path.output_ifname + " has no " + family_name(remote.family) +
                                     " address to reach " + remote_text + " from");
  }
  path.local = *route.preferred_source;

  // The next hop's neighbour entry.
  if ((flags & IFF_NOARP) != 0 || !link_is_ethernet) {
    path.neighbour_state = NUD_NOARP;
    return path;
  }
  nl_cache* raw_cache = nullptr;
  if (int error = rtnl_neigh_alloc_cache(query_socket_.get(), &raw_cache); error < 0) {
    return Status(EIO, std::string("rtnetlink: cannot read the neighbour table: ") + nl_geterror(error));
  }
  std::unique_ptr<nl_cache, NlCachePut> neighbours(raw_cache);
  auto next_hop_address = address_to_nl(path.next_hop);
  if (!next_hop_address) return Status(ENOMEM, "rtnetlink: cannot allocate an address");
  std::unique_ptr<rtnl_neigh, RtnlNeighPut> neighbour(
      rtnl_neigh_get(neighbours.get(), route.ifindex, next_hop_address.get()));
  const std::string where = "neighbour " + path.next_hop.to_string() + " on " + path.output_ifname;
  std::string state_text = "no entry";
  if (neighbour) {
    int state = rtnl_neigh_get_state(neighbour.get());
    path.neighbour_state = static_cast<uint16_t>(state < 0 ? 0 : state);
    nl_addr* lladdr = rtnl_neigh_get_lladdr(neighbour.get());
    if (neighbour_state_is_usable(path.neighbour_state) && lladdr != nullptr &&
        nl_addr_get_len(lladdr) == 6) {
      std::memcpy(path.next_hop_mac.data(), nl_addr_get_binary_addr(lladdr), 6);
      return path;
    }
    state_text = "state " + neighbour_state_name(path.neighbour_state);
  }
  std::string requested;
  if (options_.request_resolution) {
    Status asked = request_neighbour_resolution(path.next_hop, route.ifindex);
    requested = asked ? "; the kernel was asked to resolve it" : "; " + asked.message();
  }
  return Status(EAGAIN, where + " is not resolved (" + state_text + ")" + requested);
}

Status UnderlayResolver::request_neighbour_resolution(const UnderlayAddress& next_hop, int ifindex) {
  std::unique_ptr<nl_msg, NlMsgFree> request(
      nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE));
  if (!request) return Status(ENOMEM, "rtnetlink: cannot allocate a message");
  ndmsg neighbour_header{};
  neighbour_header.ndm_family = static_cast<uint8_t>(next_hop.family);
  neighbour_header.ndm_ifindex = ifindex;
  neighbour_header.ndm_state = NUD_NONE;
  // NTF_USE: the kernel treats this as a use of the entry (neigh_event_send)
  // instead of setting its state, and so starts resolution if it is needed.
  neighbour_header.ndm_flags = NTF_USE;
  if (nlmsg_append(request.get(), &neighbour_header, sizeof neighbour_header, NLMSG_ALIGNTO) < 0 ||
      nla_put(request.get(), NDA_DST, static_cast<int>(next_hop.length()), next_hop.bytes.data()) < 0) {
    return Status(ENOMEM, "rtnetlink: cannot build the neighbour request");
  }
  KernelRouteAnswer answer;
  if (Status sent = exchange(query_socket_.get(), request.get(), answer); !sent) return sent;
  if (answer.error != 0) {
    return Status(answer.error, "asking the kernel to resolve neighbour " + next_hop.to_string() + ": " +
                                    std::strerror(answer.error));
  }
  return Status::ok();
}

int UnderlayResolver::change_fd() const {
  return change_socket_ ? nl_socket_get_fd(change_socket_.get()) : -1;
}

Result<int> UnderlayResolver::process_changes() {
  if (!change_socket_) return 0;
  std::unique_ptr<nl_cb, NlCbPut> callbacks(nl_socket_get_cb(change_socket_.get()));
  int handled = 0;
  for (;;) {
    // The _report variant returns how many messages it handled.
    int received = nl_recvmsgs_report(change_socket_.get(), callbacks.get());
    if (received == -NLE_AGAIN) break;
    if (received == -NLE_NOMEM) {
      // The socket's buffer overflowed (ENOBUFS): changes were lost, so
      // nothing cached can be trusted.
      cache_.clear();
      ++handled;
      continue;
    }
    if (received < 0) return Status(EIO, std::string("rtnetlink change socket: ") + nl_geterror(received));
    handled += received;
    if (received == 0) break;
  }
  return handled;
}

void UnderlayResolver::invalidate_next_hop(const UnderlayAddress& next_hop) {
  std::erase_if(cache_, [&](const auto& entry) { return entry.second.path.next_hop == next_hop; });
}

size_t UnderlayResolver::expire_idle(Clock::time_point now) {
  return std::erase_if(cache_,
                       [&](const auto& entry) { return now - entry.second.last_used >= kIdleExpiry; });
}

}  // namespace flowlift
