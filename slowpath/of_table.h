// One OpenFlow table of a bridge (OVS's struct oftable): its classifier, the
// rules it owns, and its Flow_Table configuration (name, flow_limit,
// overflow_policy, groups, prefixes).
//
// The table owns the rules that are visible from the newest version on
// ("live" rules, what OVS counts in n_flows). A rule a flow-mod removes
// leaves that set at once but stays in the classifier, invisible from the
// removing version on, until OfTables reclaims it; the flow-mod semantics
// (what gets added, replaced or removed) live in OfTables, which is the only
// code that changes a table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flowlift/status.h"
#include "slowpath/classifier.h"
#include "slowpath/of_fields.h"
#include "slowpath/of_table_rule.h"

namespace flowlift {

// Flow_Table overflow_policy: what an add does to a table at its flow limit.
enum class OfOverflowPolicy : uint8_t {
  kRefuse,  // the add fails with OFPFMFC_TABLE_FULL
  kEvict,   // a rule with a timeout makes room (see choose_eviction_victim)
};

// OVS's default Flow_Table prefixes: nw_dst, nw_src. (Out of line: g++ 12
// warns about a braced vector of enums inlined into callers.)
std::vector<OfFieldId> default_of_prefix_fields();

struct OfTableConfig {
  std::string name;  // Flow_Table name, for dump-tables; no effect on behaviour
  // Flow_Table flow_limit: rules the table may hold (UINT32_MAX: no limit, OVS's default).
  uint32_t max_flows = UINT32_MAX;
  OfOverflowPolicy overflow_policy = OfOverflowPolicy::kRefuse;
  // Flow_Table groups ("NXM_OF_IN_PORT[]", "reg0[0..7]" through
  // parse_subfield()): with eviction, rules whose matches have equal values
  // of these subfields form one eviction group. Empty: the whole table is
  // one group.
  std::vector<OfSubfield> eviction_groups;
  // Flow_Table prefixes, for the classifier (OVS's default: nw_dst, nw_src).
  std::vector<OfFieldId> prefix_fields = default_of_prefix_fields();
};

class OfTables;
struct OfTablesTransaction;

class OfTable {
 public:
  explicit OfTable(uint8_t id);
  ~OfTable();
  OfTable(const OfTable&) = delete;
  OfTable& operator=(const OfTable&) = delete;

  uint8_t id() const { return id_; }
  const OfTableConfig& config() const { return config_; }
  const Classifier& classifier() const { return classifier_; }

  // Rules visible from the newest version on (OVS's n_flows).
  size_t n_flows() const { return live_.size(); }
  // Those rules in creation order.
  void for_each_rule(const std::function<void(const OfTableRule&)>& visit) const;

  // The rule eviction removes next, or nullptr when the policy is refuse or
  // no rule may be evicted. As OVS's Flow_Table documentation describes the
  // choice: only rules with an idle or hard timeout are candidates; they
  // fall into groups by their values of config().eviction_groups (a field
  // the match leaves wild counts as 0; one whose prerequisites the match
  // lacks as absent); among the largest groups (all of those tied for the
  // largest), the lowest importance, then the soonest expiry (idle timeout
  // from the last use, hard timeout from the last modification), then the
  // oldest rule. OVS approximates the same order with heaps whose expiry it
  // refreshes about once a second and breaks ties at random; this picks
  // exactly, by looking at every candidate.
  const OfTableRule* choose_eviction_victim() const;

 private:
  friend class OfTables;
  friend struct OfTablesTransaction;
  struct OfTablesTransaction;

  // Sets the classifier's prefix fields first; on error nothing changes.
  Status configure(OfTableConfig config);
  // Puts a rule in the classifier (visible from its add_version) and the live set.
  const OfTableRule* insert(std::unique_ptr<OfTableRule> rule);
  // Makes `rule` invisible from `version` on and hands it over; it stays in
  // the classifier for readers at older versions.
  std::unique_ptr<OfTableRule> retire(const OfTableRule* rule, OfVersion version);
  // Undoes retire() (a failed bundle).
  void restore(std::unique_ptr<OfTableRule> rule);
  // Undoes insert() of a rule no reader ever saw (a failed bundle).
  void erase_unpublished(const OfTableRule* rule);
  // Takes a retired rule out of the classifier once no reader can see it.
  void forget(const OfTableRule* rule);

  uint8_t id_;
  OfTableConfig config_;
  Classifier classifier_;
  std::map<uint64_t, std::unique_ptr<OfTableRule>> live_;  // by sequence
};

}  // namespace flowlift
