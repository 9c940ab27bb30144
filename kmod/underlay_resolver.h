// UnderlayResolver: where a VXLAN port's encapsulated packets leave this host
// for one remote VTEP, read from the kernel's own tables of the current
// network namespace over rtnetlink (libnl-route-3), as Open vSwitch's
// ovs-router + tnl-neigh-cache do for its userspace tunnels:
//   RTM_GETROUTE for the destination (`ip route get`): output interface,
//     preferred source address, gateway;
//   the neighbour cache entry of the next hop (the gateway, else the
//     destination) on that interface: its MAC, if its NUD state is usable;
//   the output interface's own MAC.
// Answers are cached per remote address and dropped after 15 idle minutes (as
// tnl-neigh-cache does) or as soon as the kernel announces a change to its
// routes, neighbours, links or addresses on the change socket (change_fd()),
// which the daemon polls and drains with process_changes().
//
// An unresolved neighbour is an error value (EAGAIN), never a guess. By
// default the resolver then asks the kernel to resolve it the way it does for
// its own senders: an RTM_NEWNEIGH with NTF_USE (`ip neigh replace ADDR dev
// DEV use`), which creates the entry if needed and makes the kernel send the
// ARP request / neighbour solicitation itself. We send no packet of our own
// (a UDP connect() only looks up the route; it starts no resolution), and the
// caller retries, typically when the change socket reports the new entry.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "flowlift/flow_key.h"
#include "flowlift/status.h"
#include "kmod/vxlan.h"

struct nl_sock;

namespace flowlift {

// An IPv4 or IPv6 address as rtnetlink carries it (network byte order).
struct UnderlayAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  static UnderlayAddress ipv4(Be32 address);
  static UnderlayAddress ipv6(const Ipv6Addr& address);
  // "192.0.2.9" or "2001:db8::9"; an error naming the text otherwise.
  static Result<UnderlayAddress> parse(const std::string& text);

  size_t length() const { return family == AF_INET6 ? 16 : 4; }
  Be32 as_ipv4() const;
  Ipv6Addr as_ipv6() const;
  std::string to_string() const;
  auto operator<=>(const UnderlayAddress&) const = default;
};

// Everything a VxlanEndpoint / VxlanRoute needs to reach one remote VTEP.
struct UnderlayPath {
  UnderlayAddress remote;
  UnderlayAddress local;                   // the route's preferred source
  std::optional<UnderlayAddress> gateway;  // absent for an on-link destination
  UnderlayAddress next_hop;                // gateway, else remote
  int output_ifindex = 0;
  std::string output_ifname;
  EthAddr local_mac{};           // the output interface's address
  EthAddr next_hop_mac{};        // the next hop's neighbour entry
  uint16_t neighbour_state = 0;  // NUD_* of that entry (NUD_NOARP for no-ARP links)

  // Fills the addresses and MACs of `endpoint` (ports and extensions untouched).
  void apply_to(VxlanEndpoint& endpoint) const;
};

// "REACHABLE", "STALE", "INCOMPLETE", ... as `ip neigh` prints NUD states.
std::string neighbour_state_name(uint16_t state);

class UnderlayResolver {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kIdleExpiry{15};  // tnl-neigh-cache's NEIGH_ENTRY_DEFAULT_IDLE_TIME

  struct Options {
    // On an unresolved neighbour, ask the kernel to resolve it (NTF_USE).
    bool request_resolution = true;
    // Open the change socket (RTNLGRP_NEIGH, *_ROUTE, LINK, *_IFADDR).
    bool listen_for_changes = true;
  };

  // Opens the rtnetlink sockets in the calling thread's network namespace;
  // they stay bound to it whichever thread uses the resolver later.
  static Result<std::unique_ptr<UnderlayResolver>> create(Options options);
  static Result<std::unique_ptr<UnderlayResolver>> create() { return create(Options{}); }
  ~UnderlayResolver();
  UnderlayResolver(const UnderlayResolver&) = delete;
  UnderlayResolver& operator=(const UnderlayResolver&) = delete;

  // The cached path when fresh, else asks the kernel. Errors: ENETUNREACH "no
  // route to R", EHOSTUNREACH for local/broadcast destinations, ENETDOWN for
  // an interface without carrier or down, EADDRNOTAVAIL "interface X has no
  // IPv4 address", EAGAIN "neighbour N on X is not resolved (state S)".
  Result<UnderlayPath> resolve(const UnderlayAddress& remote) { return resolve(remote, Clock::now()); }
  Result<UnderlayPath> resolve(const UnderlayAddress& remote, Clock::time_point now);
  // Asks the kernel, bypassing and not touching the cache.
  Result<UnderlayPath> resolve_uncached(const UnderlayAddress& remote);

  // Makes the kernel start resolving `next_hop` on `ifindex` (NTF_USE).
  Status request_neighbour_resolution(const UnderlayAddress& next_hop, int ifindex);

  // The change socket's fd (-1 when not listening): readable when the kernel
  // announced a change. process_changes() drains it without blocking and
  // invalidates what the changes may have made stale: for a neighbour message
  // the entries whose next hop it names, for anything else (route, link,
  // address, or lost messages) the whole cache. Returns messages handled.
  int change_fd() const;
  Result<int> process_changes();

  // Drops entries idle for kIdleExpiry or longer; returns how many.
  size_t expire_idle(Clock::time_point now);
  size_t cache_size() const { return cache_.size(); }
  void flush() { cache_.clear(); }

 private:
  struct CachedUnderlayPath {
    UnderlayPath path;
    Clock::time_point last_used;
  };
  struct NlSocketFree {
    void operator()(nl_sock* socket) const;
  };
  using NlSocketPtr = std::unique_ptr<nl_sock, NlSocketFree>;

  UnderlayResolver(Options options, NlSocketPtr query, NlSocketPtr changes);
  void invalidate_next_hop(const UnderlayAddress& next_hop);

  Options options_;
  NlSocketPtr query_socket_;
  NlSocketPtr change_socket_;
  std::map<UnderlayAddress, CachedUnderlayPath> cache_;
  friend struct UnderlayChangeHandler;
};

}  // namespace flowlift
