// inject and capture: packets into and out of dummy ports (OVS's
// netdev-dummy/receive and the frames a dummy port transmitted).
//
// inject takes either hex bytes (a whole frame) or a flow in ovs-dpctl text,
// from which compose_packet builds a frame whose extracted key is that flow
// (fields the text leaves out are zero). The port's own number is the input
// port, whatever in_port(...) the text names, as netdev-dummy/receive does.
// capture shows each frame as hex and as the flow OVS's flow_format() would
// print for it, so what left the switch can be read without a dissector.
#include <cctype>

#include "kmod/flow_extract.h"
#include "kmod/odp_text_key.h"
#include "kmod/packet_compose.h"
#include "slowpath/of_flow_key.h"
#include "slowpath/switch_commands.h"
#include "slowpath/xlate_trace.h"

namespace flowlift {

namespace {

constexpr uint64_t kMaxInjectCount = 1000000;
constexpr uint64_t kMaxCapture = 1024;  // what a dummy port keeps

Result<const SwitchPortRecord*> find_dummy_port(const SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::string> name = args.required_string("port");
  if (!name) return name.status();
  auto it = state.ports.find(*name);
  if (it == state.ports.end()) return Status(ENOENT, "port " + *name + " does not exist");
  if (it->second.type != DpifPortType::kDummy)
    return invalid_argument("port " + *name + " is a " + std::string(dpif_port_type_name(it->second.type)) +
                            " port; only dummy ports take injected packets and keep a capture");
  return &it->second;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex bytes, optionally with white space or ':' between them. nullopt when
// the text is not hex at all (then it is read as a flow).
std::optional<Result<std::vector<uint8_t>>> parse_hex_frame(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ':') continue;
    if (hex_digit(c) < 0) return std::nullopt;
    digits += c;
  }
  if (digits.empty()) return std::nullopt;
  if (digits.size() % 2 != 0)
    return Result<std::vector<uint8_t>>(invalid_argument("hex packet has an odd number of digits"));
  if (digits.size() < 28)
    return Result<std::vector<uint8_t>>(invalid_argument("hex packet is shorter than an Ethernet header"));
  std::vector<uint8_t> bytes(digits.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(hex_digit(digits[2 * i]) * 16 + hex_digit(digits[2 * i + 1]));
  return Result<std::vector<uint8_t>>(std::move(bytes));
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// The frame's flow as OVS's flow_format() prints it (in_port left out: a
// transmitted frame has none).
std::string frame_flow_text(std::span<const uint8_t> frame) {
  Packet packet(frame);
  FlowKey key = flow_key_extract(packet);
  Result<OfFlow> flow =
      of_flow_from_key(key, [](uint32_t port, const TunnelKey*) -> std::optional<uint32_t> { return port; });
  if (!flow) return "(" + flow.status().message() + ")";
  return format_trace_flow(*flow);
}

// A packet given as hex bytes or as an ovs-dpctl flow.
Result<Packet> parse_injected_packet(const std::string& text) {
  if (std::optional<Result<std::vector<uint8_t>>> hex = parse_hex_frame(text)) {
    if (!*hex) return hex->status();
    return Packet(hex->value());
  }
  Result<Match> match = parse_match(text);
  if (!match) return match.status().with_context("neither hex nor an ovs-dpctl flow");
  Packet packet = compose_packet(match->key);
  packet.md = PacketMetadata{};
  return packet;
}

}  // namespace

// `packet` is one packet or an array of them (as netdev-dummy/receive takes
// several in one call); `count` repeats the whole list.
SwitchCommandResult switch_inject(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<const SwitchPortRecord*> port = find_dummy_port(state, args);
  if (!port) return port.status();
  std::vector<std::string> texts;
  const nlohmann::json* given = args.find("packet");
  if (given && given->is_array()) {
    Result<std::vector<std::string>> list = args.required_string_array("packet");
    if (!list) return list.status();
    if (list->empty()) return invalid_argument("argument \"packet\" is an empty list");
    texts = std::move(*list);
  } else {
    Result<std::string> text = args.required_string("packet");
    if (!text) return text.status();
    texts.push_back(std::move(*text));
  }
  Result<std::optional<uint64_t>> count = args.optional_unsigned("count", kMaxInjectCount);
  if (!count) return count.status();
  uint64_t n = count->value_or(1);

  std::vector<Packet> packets;
  packets.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    Result<Packet> packet = parse_injected_packet(texts[i]);
    if (!packet)
      return packet.status().with_context(texts.size() == 1 ? std::string("packet")
                                                            : "packet " + std::to_string(i + 1));
    packets.push_back(std::move(*packet));
  }
  uint64_t injected = 0;
  // One receive batch: handlers are woken once for its misses, as OVS's PMD
  // handles a received batch before it looks for the next one.
  struct InjectBatchScope {
    Dpif& dpif;
    explicit InjectBatchScope(Dpif& d) : dpif(d) { dpif.begin_inject_batch(); }
    ~InjectBatchScope() { dpif.end_inject_batch(); }
    InjectBatchScope(const InjectBatchScope&) = delete;
    InjectBatchScope& operator=(const InjectBatchScope&) = delete;
  } batch(state.dpif);
  for (uint64_t round = 0; round < n; ++round) {
    for (const Packet& packet : packets) {
      Packet copy(packet.bytes());
      if (Status s = state.dpif.inject((*port)->datapath_port, std::move(copy)); !s)
        return s.with_context("port " + (*port)->name + " (" + std::to_string(injected) +
                              " injected before)");
      ++injected;
    }
  }
  SwitchReply reply;
  reply.result = {{"injected", injected}};
  reply.text = "injected " + std::to_string(injected) + " packet" + (injected == 1 ? "" : "s") + " on " +
               (*port)->name + "\n";
  return reply;
}

SwitchCommandResult switch_capture(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<const SwitchPortRecord*> port = find_dummy_port(state, args);
  if (!port) return port.status();
  Result<std::optional<uint64_t>> max = args.optional_unsigned("max", kMaxCapture);
  if (!max) return max.status();
  Result<std::vector<Packet>> frames = state.dpif.capture((*port)->datapath_port, max->value_or(kMaxCapture));
  if (!frames) return frames.status().with_context("port " + (*port)->name);
  SwitchReply reply;
  reply.result["packets"] = nlohmann::json::array();
  for (const Packet& frame : *frames) {
    std::string hex = to_hex(frame.bytes());
    std::string flow = frame_flow_text(frame.bytes());
    reply.result["packets"].push_back({{"hex", hex}, {"flow", flow}, {"length", frame.size()}});
    reply.text += flow + "\n  " + hex + "\n";
  }
  return reply;
}

}  // namespace flowlift
