// OffloadingDpif over the real userspace datapath and a scripted provider:
// the provider is asked first, what it refuses lands in the datapath with the
// reason, get/del/dump go to whoever holds a flow, and dumps say where.
#include "offload/offloading_dpif.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "kmod/odp_text_actions.h"
#include "kmod/odp_text_key.h"
#include "kmod/userspace_dpif.h"

namespace flowlift {
namespace {

// Offloads every flow except those from port 2 (or all, once refuse_all is
// set), which it refuses with a reason; flows it holds report `placement`. Records what it was offered.
class ScriptedOffloadProvider final : public OffloadProvider {
 public:
  std::string_view name() const override { return "scripted"; }
  void set_ports(std::vector<OffloadPort> ports) override {
    std::lock_guard lock(mutex);
    port_names.clear();
    for (const OffloadPort& port : ports) port_names.push_back(port.name);
  }
  std::vector<OffloadPutResult> put(std::span<const DpifFlowPut> puts) override {
    std::lock_guard lock(mutex);
    ++batches;
    std::vector<OffloadPutResult> results;
    for (const DpifFlowPut& put : puts) {
      ++offers;
      if (put.flow.match.key.in_port == 2 || refuse_all) {
        flows.erase(put.flow.ufid.bytes);
        results.push_back({MegaflowPlacement::kDatapath,
                           refuse_all ? "scripted: refusing everything" : "scripted: port 2 refused", 0});
        continue;
      }
      Megaflow flow = put.flow;
      flow.location.placement = placement;
      flow.location.provider = "scripted";
      flows[put.flow.ufid.bytes] = flow;
      results.push_back({placement, "", 0});
    }
    return results;
  }
  bool holds(const Ufid& ufid) const override {
    std::lock_guard lock(mutex);
    return flows.count(ufid.bytes) != 0;
  }
  Result<Megaflow> get(const Ufid& ufid) const override {
    std::lock_guard lock(mutex);
    auto it = flows.find(ufid.bytes);
    if (it == flows.end()) return Status(ENOENT, "not held");
    return it->second;
  }
  Result<Megaflow> del(const Ufid& ufid) override {
    std::lock_guard lock(mutex);
    auto it = flows.find(ufid.bytes);
    if (it == flows.end()) return Status(ENOENT, "not held");
    Megaflow flow = it->second;
    flows.erase(it);
    return flow;
  }
  size_t flow_count() const override {
    std::lock_guard lock(mutex);
    return flows.size();
  }
  std::vector<Megaflow> dump() const override {
    std::lock_guard lock(mutex);
    std::vector<Megaflow> out;
    for (const auto& [ufid, flow] : flows) out.push_back(flow);
    return out;
  }
  Status flush() override {
    std::lock_guard lock(mutex);
    flows.clear();
    return Status::ok();
  }
  std::vector<std::string> maintain() override { return {"qdisc on p1 was re-created"}; }

  mutable std::mutex mutex;
  std::map<std::array<uint8_t, 16>, Megaflow> flows;
  std::vector<std::string> port_names;
  MegaflowPlacement placement = MegaflowPlacement::kTcSoftware;
  bool refuse_all = false;
  int offers = 0;
  int batches = 0;
};

class OffloadingDpifTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UserspaceDpifOptions options;
    options.kernel_underlay = false;
    Result<std::unique_ptr<UserspaceDpif>> datapath = UserspaceDpif::create(options);
    ASSERT_TRUE(datapath) << datapath.status().message();
    auto provider = std::make_unique<ScriptedOffloadProvider>();
    scripted = provider.get();
    dpif = std::make_unique<OffloadingDpif>(std::move(*datapath), std::move(provider));
    for (const char* name : {"p1", "p2"}) ASSERT_TRUE(dpif->port_add(DpifPortRequest{.name = name}));
  }

  static DpifFlowPut put_of(uint8_t id, uint32_t in_port, std::string_view actions = "2") {
    DpifFlowPut put;
    put.flow.ufid.bytes[0] = id;
    Result<Match> match =
        parse_match("in_port(" + std::to_string(in_port) + "),eth(),eth_type(0x0800),ipv4(dst=10.0.0." +
                    std::to_string(id) + ",frag=no)");
    EXPECT_TRUE(match) << match.status().message();
    put.flow.match = *match;
    Result<ActionList> parsed = parse_actions(actions);
    EXPECT_TRUE(parsed) << parsed.status().message();
    put.flow.actions = *parsed;
    return put;
  }

  std::unique_ptr<OffloadingDpif> dpif;
  ScriptedOffloadProvider* scripted = nullptr;
};

TEST_F(OffloadingDpifTest, PortsArePassedToTheProviderOnEveryChange) {
  EXPECT_EQ(scripted->port_names, (std::vector<std::string>{"p1", "p2"}));
  ASSERT_TRUE(dpif->port_del(2));
  EXPECT_EQ(scripted->port_names, (std::vector<std::string>{"p1"}));
}

TEST_F(OffloadingDpifTest, AnOffloadedFlowIsNotPutInTheDatapath) {
  ASSERT_EQ(*dpif->flow_put(put_of(1, 1)), DpifPutOutcome::kCreated);
  EXPECT_TRUE(scripted->holds(put_of(1, 1).flow.ufid));
  EXPECT_TRUE(dpif->datapath().flow_dump().empty());
  std::vector<Megaflow> dumped = dpif->flow_dump();
  ASSERT_EQ(dumped.size(), 1u);
  EXPECT_EQ(dumped[0].location.placement, MegaflowPlacement::kTcSoftware);
  EXPECT_EQ(dumped[0].location.provider, "scripted");
  EXPECT_EQ(dpif->stats().flows, 1u);
}

TEST_F(OffloadingDpifTest, ARefusedFlowGoesToTheDatapathWithTheProvidersReason) {
  ASSERT_EQ(*dpif->flow_put(put_of(7, 2, "1")), DpifPutOutcome::kCreated);
  EXPECT_EQ(scripted->flow_count(), 0u);
  ASSERT_EQ(dpif->datapath().flow_dump().size(), 1u);
  std::vector<Megaflow> dumped = dpif->flow_dump();
  ASSERT_EQ(dumped.size(), 1u);
  EXPECT_EQ(dumped[0].location.placement, MegaflowPlacement::kDatapath);
  EXPECT_EQ(dumped[0].location.reason, "scripted: port 2 refused");
  Result<Megaflow> got = dpif->flow_get(put_of(7, 2).flow.ufid);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->location.reason, "scripted: port 2 refused");
}

TEST_F(OffloadingDpifTest, GetAndDeleteGoToWhoeverHoldsTheFlow) {
  ASSERT_TRUE(dpif->flow_put(put_of(1, 1)));
  ASSERT_TRUE(dpif->flow_put(put_of(2, 2, "1")));
  Result<Megaflow> offloaded = dpif->flow_del(put_of(1, 1).flow.ufid);
  ASSERT_TRUE(offloaded);
  EXPECT_EQ(offloaded->location.placement, MegaflowPlacement::kTcSoftware);
  Result<Megaflow> datapath = dpif->flow_del(put_of(2, 2).flow.ufid);
  ASSERT_TRUE(datapath);
  EXPECT_EQ(datapath->location.reason, "scripted: port 2 refused");
  EXPECT_TRUE(dpif->flow_dump().empty());
  EXPECT_EQ(dpif->flow_del(put_of(2, 2).flow.ufid).status().code(), ENOENT);
}

TEST_F(OffloadingDpifTest, ACreateOfAHeldFlowIsEexistAndAModifyStaysWithTheProvider) {
  ASSERT_TRUE(dpif->flow_put(put_of(1, 1)));
  EXPECT_EQ(dpif->flow_put(put_of(1, 1)).status().code(), EEXIST);
  DpifFlowPut modify = put_of(1, 1, "drop");
  modify.modify = true;
  ASSERT_EQ(*dpif->flow_put(modify), DpifPutOutcome::kActionsUpdated);
  ASSERT_EQ(scripted->flow_count(), 1u);
  EXPECT_TRUE(scripted->dump()[0].actions.empty());  // ovs-dpctl's "drop"
  EXPECT_TRUE(dpif->datapath().flow_dump().empty());
}

TEST_F(OffloadingDpifTest, AModifyTheProviderRefusesMovesTheFlowToTheDatapath) {
  ASSERT_TRUE(dpif->flow_put(put_of(1, 1)));
  DpifFlowPut modify = put_of(1, 1, "drop");
  modify.modify = true;
  scripted->refuse_all = true;
  // The flow must leave the provider and land in the datapath with the reason.
  ASSERT_EQ(*dpif->flow_put(modify), DpifPutOutcome::kActionsUpdated);
  EXPECT_EQ(scripted->flow_count(), 0u);
  std::vector<Megaflow> dumped = dpif->flow_dump();
  ASSERT_EQ(dumped.size(), 1u);
  EXPECT_EQ(dumped[0].location.placement, MegaflowPlacement::kDatapath);
  EXPECT_EQ(dumped[0].location.reason, "scripted: refusing everything");
  EXPECT_TRUE(dumped[0].actions.empty());
}

TEST_F(OffloadingDpifTest, ABatchGoesToTheProviderInOneCallAndItsRefusalsToTheDatapath) {
  ASSERT_TRUE(dpif->flow_put(put_of(9, 1)));
  std::vector<DpifFlowPut> puts = {put_of(1, 1), put_of(2, 2, "1"), put_of(3, 1), put_of(9, 1)};
  const int offers_before = scripted->offers;
  std::vector<Result<DpifPutOutcome>> outcomes = dpif->flow_put_batch(puts);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(*outcomes[0], DpifPutOutcome::kCreated);
  EXPECT_EQ(*outcomes[1], DpifPutOutcome::kCreated);
  EXPECT_EQ(*outcomes[2], DpifPutOutcome::kCreated);
  EXPECT_EQ(outcomes[3].status().code(), EEXIST) << "held already: a create is refused";
  EXPECT_EQ(scripted->offers - offers_before, 3) << "the three new flows, in one put";
  EXPECT_EQ(scripted->batches, 2) << "one batch for the first put, one for these";
  EXPECT_EQ(scripted->flow_count(), 3u);
  ASSERT_EQ(dpif->datapath().flow_dump().size(), 1u);
  EXPECT_EQ(dpif->flow_get(put_of(2, 2).flow.ufid)->location.reason, "scripted: port 2 refused");
}

TEST_F(OffloadingDpifTest, FlushEmptiesBothPlaces) {
  ASSERT_TRUE(dpif->flow_put(put_of(1, 1)));
  ASSERT_TRUE(dpif->flow_put(put_of(2, 2, "1")));
  ASSERT_TRUE(dpif->flow_flush());
  EXPECT_TRUE(dpif->flow_dump().empty());
}

TEST_F(OffloadingDpifTest, MaintainReportsTheProvidersProblemsByName) {
  EXPECT_EQ(dpif->maintain(), (std::vector<std::string>{"scripted: qdisc on p1 was re-created"}));
}

}  // namespace
}  // namespace flowlift
