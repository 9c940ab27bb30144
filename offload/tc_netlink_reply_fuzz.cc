// Fuzz target for what rtnetlink answers TC requests with. The input is
// read twice:
//  - whole, as one datagram: split into messages, each read as an
//    NLMSG_ERROR and an NLMSG_DONE;
//  - as a script of datagrams (2-byte little-endian length, then the bytes;
//    length 0xffff stands for an ENOBUFS report) that a transport hands to
//    a TcNetlinkSession as the kernel's answers to a batch of three echoing
//    requests, then to a dump, then to the clsact check. Small sequence
//    numbers (< 64) in the script are taken relative to the session's last
//    request, and port id 0 as the session's, so that the fuzzer reaches
//    the matching code rather than only the stray-answer path.
// Nothing may crash or read out of bounds; every request gets exactly one
// outcome, a lost one never carries an errno, errnos are positive and
// below 4096, and the session stays usable.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "offload/tc_netlink_reply.h"
#include "offload/tc_netlink_session.h"
#include "offload/tc_qdisc.h"

namespace flowlift {
namespace {

constexpr uint32_t kFuzzPortId = 4711;
constexpr uint16_t kOverrunMarker = 0xffff;

[[noreturn]] void fuzz_invariant_broken(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

struct FuzzScriptDatagram {
  bool overrun = false;
  std::vector<uint8_t> bytes;
};

class FuzzScriptTransport final : public TcNetlinkTransport {
 public:
  explicit FuzzScriptTransport(std::deque<FuzzScriptDatagram> script) : script_(std::move(script)) {}
  uint32_t port_id() const override { return kFuzzPortId; }
  size_t receive_buffer_bytes() const override { return 16 << 10; }
  Status send(std::span<const uint8_t> datagram) override {
    if (datagram.size() >= sizeof(nlmsghdr)) {
      nlmsghdr header;
      std::memcpy(&header, datagram.data(), sizeof header);
      base_sequence_ = header.nlmsg_seq;
    }
    return Status::ok();
  }
  Result<size_t> receive(std::span<uint8_t> buffer, bool) override {
    if (script_.empty()) return Status(EAGAIN, "script exhausted");
    FuzzScriptDatagram next = std::move(script_.front());
    script_.pop_front();
    if (next.overrun) return Status(ENOBUFS, "scripted overrun");
    if (next.bytes.size() > buffer.size()) return Status(EMSGSIZE, "too large");
    rebase(next.bytes);
    if (!next.bytes.empty()) std::memcpy(buffer.data(), next.bytes.data(), next.bytes.size());
    return next.bytes.size();
  }

 private:
  // Rewrites small sequence numbers and port 0 in the well-formed prefix.
  void rebase(std::vector<uint8_t>& bytes) const {
    size_t offset = 0;
    while (offset + sizeof(nlmsghdr) <= bytes.size()) {
      nlmsghdr header;
      std::memcpy(&header, bytes.data() + offset, sizeof header);
      if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > bytes.size() - offset) return;
      if (header.nlmsg_seq < 64) header.nlmsg_seq += base_sequence_;
      if (header.nlmsg_pid == 0) header.nlmsg_pid = kFuzzPortId;
      std::memcpy(bytes.data() + offset, &header, sizeof header);
      offset += NLMSG_ALIGN(header.nlmsg_len);
    }
  }

  std::deque<FuzzScriptDatagram> script_;
  uint32_t base_sequence_ = 0;
};

std::deque<FuzzScriptDatagram> read_script(std::span<const uint8_t> input) {
  std::deque<FuzzScriptDatagram> script;
  size_t position = 0;
  while (position + 2 <= input.size()) {
    uint16_t length = static_cast<uint16_t>(input[position] | (input[position + 1] << 8));
    position += 2;
    if (length == kOverrunMarker) {
      script.push_back({true, {}});
      continue;
    }
    size_t take = std::min<size_t>(length, input.size() - position);
    script.push_back(
        {false, std::vector<uint8_t>(input.begin() + position, input.begin() + position + take)});
    position += take;
  }
  return script;
}

std::vector<uint8_t> fuzz_request(uint16_t type, uint16_t flags) {
  std::vector<uint8_t> request(NLMSG_HDRLEN + 20, 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(request.size());
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  std::memcpy(request.data(), &header, sizeof header);
  return request;
}

void check_errno(int error) {
  if (error < 0 || error > 4095) fuzz_invariant_broken("an errno outside 0..4095");
}

}  // namespace
}  // namespace flowlift

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flowlift;
  std::span<const uint8_t> input(data, size);

  TcNetlinkDatagram datagram = split_tc_netlink_datagram(input);
  for (const TcNetlinkMessageView& message : datagram.messages) {
    if (message.bytes.size() < sizeof(nlmsghdr) || message.offset + message.bytes.size() > size) {
      fuzz_invariant_broken("a split message outside the datagram");
    }
    if (auto ack = parse_tc_netlink_ack(message.bytes)) check_errno(ack->error);
    if (auto done = parse_tc_netlink_done(message.bytes)) check_errno(done->error);
  }
  (void)parse_tc_netlink_ack(input);
  (void)parse_tc_netlink_done(input);

  TcNetlinkSessionOptions options;
  options.dump_retries = 1;
  TcNetlinkSession session =
      TcNetlinkSession::over(std::make_unique<FuzzScriptTransport>(read_script(input)), options);
  std::vector<std::vector<uint8_t>> requests(
      3, fuzz_request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO));
  std::vector<TcRequestOutcome> outcomes = session.transact(requests);
  if (outcomes.size() != requests.size()) fuzz_invariant_broken("not one outcome per request");
  for (const TcRequestOutcome& outcome : outcomes) {
    check_errno(outcome.error);
    if (outcome.lost && outcome.error != 0) fuzz_invariant_broken("a lost outcome with an errno");
    if (outcome.lost && outcome.lost_reason.empty()) fuzz_invariant_broken("a lost outcome without a reason");
  }
  auto dumped = session.dump(fuzz_request(RTM_GETTFILTER, 0));
  if (!dumped && dumped.status().code() == 0) fuzz_invariant_broken("a failed dump without an errno");
  (void)has_clsact(session, 3);
  return 0;
}
