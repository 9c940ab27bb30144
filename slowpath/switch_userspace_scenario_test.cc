// SwitchCore over the real userspace datapath (kmod's UserspaceDpif, no
// kernel state touched), the Udpif driven by hand: a VLAN is pushed on the
// way from p1 to p2 and popped on the way back, the first packet of each
// direction is an upcall, the next ones hit the installed megaflow, and
// show, capture, dump-megaflows and counters agree with that.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kmod/userspace_dpif.h"
#include "slowpath/switch_core.h"

namespace flowlift {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kFromP1 =
    "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),"
    "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=80)";

class SwitchCoreUserspace : public ::testing::Test {
 protected:
  static std::unique_ptr<UserspaceDpif> make_dpif() {
    UserspaceDpifOptions options;
    options.kernel_underlay = false;
    Result<std::unique_ptr<UserspaceDpif>> dpif = UserspaceDpif::create(options);
    EXPECT_TRUE(dpif.is_ok()) << dpif.status().message();
    return dpif.is_ok() ? std::move(*dpif) : nullptr;
  }
  static SwitchCoreOptions manual() {
    SwitchCoreOptions options;
    options.start_threads = false;
    options.udpif.n_handlers = 1;
    return options;
  }
  nlohmann::json ok(const std::string& command, nlohmann::json args = nullptr) {
    nlohmann::json request = {{"command", command}};
    if (!args.is_null()) request["args"] = std::move(args);
    nlohmann::json response = core_.handle(request);
    EXPECT_TRUE(response.value("ok", false)) << command << ": " << response.dump();
    return response;
  }

  std::unique_ptr<UserspaceDpif> dpif_ = make_dpif();
  SwitchCore core_{*dpif_, manual()};
};

TEST_F(SwitchCoreUserspace, AVlanIsPushedOneWayAndPoppedTheOtherThroughInstalledMegaflows) {
  ok("add-bridge", {{"bridge", "br0"}});
  ok("add-port", {{"bridge", "br0"}, {"port", "p1"}, {"type", "dummy"}});
  ok("add-port", {{"bridge", "br0"}, {"port", "p2"}, {"type", "dummy"}});
  ok("add-flows", {{"bridge", "br0"},
                   {"flows",
                    {"priority=10,in_port=p1,actions=mod_vlan_vid:10,output:p2",
                     "priority=10,in_port=p2,dl_vlan=10,actions=strip_vlan,output:p1"}},
                   {"bundle", true}});

  ok("inject", {{"port", "p1"}, {"packet", kFromP1}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 1u);
  nlohmann::json tagged = ok("capture", {{"port", "p2"}});
  ASSERT_EQ(tagged["result"]["packets"].size(), 1u);
  std::string hex = tagged["result"]["packets"][0]["hex"];
  // dst, src, then the 802.1Q tag (TPID 0x8100, VID 10) before the IPv4 EtherType.
  EXPECT_EQ(hex.substr(0, 36),
            "000000000002000000000001"
            "8100000a"
            "0800");
  EXPECT_THAT(tagged["result"]["packets"][0]["flow"].get<std::string>(),
              HasSubstr("tcp,dl_vlan=10,dl_vlan_pcp=0,"));

  // The second packet hits the megaflow in the datapath.
  ok("inject", {{"port", "p1"}, {"packet", kFromP1}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 0u);
  EXPECT_EQ(ok("capture", {{"port", "p2"}})["result"]["packets"].size(), 1u);

  // And back: the tagged frame from p2 leaves p1 untagged.
  ok("inject", {{"port", "p2"}, {"packet", hex}});
  EXPECT_EQ(core_.udpif().handle_upcalls(64), 1u);
  nlohmann::json untagged = ok("capture", {{"port", "p1"}});
  ASSERT_EQ(untagged["result"]["packets"].size(), 1u);
  EXPECT_EQ(untagged["result"]["packets"][0]["hex"].get<std::string>().substr(0, 28),
            "000000000002000000000001"
            "0800");

  nlohmann::json megaflows = ok("dump-megaflows", {{"filter", "bridge=br0 in_port(1),eth()"}});
  ASSERT_EQ(megaflows["result"]["megaflows"].size(), 1u);
  EXPECT_EQ(megaflows["result"]["megaflows"][0]["actions"], "push_vlan(vid=10,pcp=0),2");
  EXPECT_EQ(megaflows["result"]["megaflows"][0]["packets"], 1);
  EXPECT_THAT(megaflows["text"].get<std::string>(),
              HasSubstr(", dp:userspace, offloaded:no, placement:datapath (tc: unavailable: "));
  EXPECT_EQ(ok("dump-megaflows")["result"]["megaflows"].size(), 2u);

  nlohmann::json counters = ok("counters");
  EXPECT_EQ(counters["result"]["datapath"]["hit"], 1);
  EXPECT_EQ(counters["result"]["datapath"]["missed"], 2);
  EXPECT_EQ(counters["result"]["datapath"]["flows"], 2);
  EXPECT_EQ(counters["result"]["upcall"]["upcalls"], 2);

  nlohmann::json show = ok("show");
  const nlohmann::json& p1 = show["result"]["bridges"][0]["ports"][0];
  EXPECT_EQ(p1["name"], "p1");
  EXPECT_EQ(p1["counters"]["rx_packets"], 2);
  EXPECT_EQ(p1["counters"]["tx_packets"], 1);

  // del-port removes the datapath port; the megaflows from it go in the next round.
  ok("del-port", {{"port", "p2"}});
  ok("revalidate");
  EXPECT_EQ(dpif_->port_dump().size(), 1u);
  nlohmann::json left = ok("dump-megaflows");
  for (const nlohmann::json& flow : left["result"]["megaflows"])
    EXPECT_THAT(flow["match"].get<std::string>(), Not(HasSubstr("in_port(2)")));
}

}  // namespace
}  // namespace flowlift
