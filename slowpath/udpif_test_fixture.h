// The upcall layer's test bench: one bridge br0 with dummy ports p1..p3
// (OpenFlow and datapath numbers 1..3), the recording UdpifTestDpif, and a
// clock the test moves by hand, so that idle ages and OpenFlow timeouts need
// no sleeping. Test-only (included by udpif*_test.cc).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>

#include "kmod/packet_compose.h"
#include "slowpath/of_bridge.h"
#include "slowpath/of_tables_for_tests.h"
#include "slowpath/udpif.h"
#include "slowpath/udpif_test_dpif.h"

namespace flowlift::udpif_testing {

class UdpifTest : public ::testing::Test {
 protected:
  UdpifTest() : dpif_([this] { return clock_ms_.load(); }) {
    bridge_ = std::make_shared<OfBridge>("br0");
    for (uint32_t port = 1; port <= 3; ++port) {
      XlatePort xlate_port;
      xlate_port.name = "p" + std::to_string(port);
      xlate_port.ofp_port = port;
      xlate_port.datapath_port = port;
      EXPECT_TRUE(bridge_->ports().add_port(xlate_port));
    }
    EXPECT_TRUE(bridges_.add(bridge_));
  }

  UdpifConfig config() {
    UdpifConfig config;
    config.now_ms = [this] { return clock_ms_.load(); };
    return config;
  }

  // Flow-mods in add-flows syntax, one a line, applied one by one at the
  // test clock as the control plane applies them.
  void apply(std::string_view text) {
    std::unique_lock lock(bridge_->mutex());
    while (!text.empty()) {
      size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      if (!line.empty()) of_tables_testing::apply_ok(bridge_->tables(), line, clock_ms_.load());
      text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
    bridge_->note_change();
  }

  void advance_ms(uint64_t ms) { clock_ms_ += ms; }
  uint64_t now_ms() const { return clock_ms_.load(); }

  // An IPv4/TCP frame 10.0.0.1 -> `nw_dst` ("10.0.0.2"), arriving on `port`.
  static FlowKey tcp_key(uint32_t port, std::string_view nw_dst, uint16_t tp_dst = 80,
                         uint16_t tp_src = 1234) {
    FlowKey key{};
    key.in_port = port;
    key.eth_src = {0x02, 0, 0, 0, 0, 1};
    key.eth_dst = {0x02, 0, 0, 0, 0, 2};
    key.eth_type = htons(0x0800);
    key.ip_proto = 6;
    key.ip_ttl = 64;
    key.ipv4_src = inet_addr("10.0.0.1");
    key.ipv4_dst = inet_addr(std::string(nw_dst).c_str());
    key.tp_src = htons(tp_src);
    key.tp_dst = htons(tp_dst);
    return key;
  }
  static constexpr size_t kPayload = 46;  // 14 + 20 + 20 + 46 = a 100-byte frame
  static constexpr uint64_t kFrameBytes = 100;

  void inject(uint32_t port, std::string_view nw_dst, uint16_t tp_dst = 80, uint16_t tp_src = 1234) {
    Packet packet = compose_packet(tcp_key(port, nw_dst, tp_dst, tp_src), kPayload);
    ASSERT_EQ(packet.size(), kFrameBytes);
    ASSERT_TRUE(dpif_.inject(port, std::move(packet)));
  }

  const OfTableRule* rule(uint16_t priority, uint8_t table = 0) {
    std::shared_lock lock(bridge_->mutex());
    return of_tables_testing::rule_with_priority(bridge_->tables(), table, priority);
  }

  std::atomic<uint64_t> clock_ms_{1'000'000};
  UdpifTestDpif dpif_;
  OfBridgeSet bridges_;
  std::shared_ptr<OfBridge> bridge_;
};

inline ActionList output_to(uint32_t port) { return ActionList{Action(OutputAction{port})}; }

}  // namespace flowlift::udpif_testing
