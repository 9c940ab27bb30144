// counters, set and revalidate: the datapath and upcall layer's numbers and
// knobs (what `ovs-dpctl show`, `ovs-appctl upcall/show`,
// `ovs-vsctl set Open_vSwitch . other_config:flow-limit=N` and
// `ovs-appctl revalidator/wait|purge` are to Open vSwitch).
#include <cinttypes>
#include <cstdio>

#include "slowpath/switch_commands.h"

namespace flowlift {

namespace {

std::string format_settings(const UdpifConfig& config) {
  return "flow_limit=" + std::to_string(config.flow_limit) +
         " max_idle=" + std::to_string(config.max_idle_ms) + "ms\n";
}

}  // namespace

SwitchCommandResult switch_counters(SwitchCoreState& state, const SwitchCommandArgs& args) {
  // `text: false` leaves the text out: a program polling the counters (the
  // flow-setup benchmark polls every 200 us) reads only the JSON, and the
  // formatting would be work the daemon does per poll for nobody.
  Result<std::optional<bool>> with_text = args.optional_bool("text");
  if (!with_text) return with_text.status();
  Result<std::optional<bool>> compare = args.optional_bool("compare");
  if (!compare) return compare.status();
  if (compare->value_or(false)) return switch_counters_compare(state);
  DpifStats datapath = state.dpif.stats();
  UdpifStats upcall = state.udpif.stats();
  UdpifConfig config = state.udpif.config();
  SwitchReply reply;
  reply.result["datapath"] = {{"type", std::string(state.dpif.type())},
                              {"hit", datapath.hit},
                              {"missed", datapath.missed},
                              {"lost", datapath.lost},
                              {"flows", datapath.flows},
                              {"masks", datapath.masks},
                              {"masks_visited", datapath.masks_visited},
                              {"cache_hit", datapath.cache_hit},
                              {"malformed", datapath.malformed},
                              {"action_errors", datapath.action_errors}};
  reply.result["upcall"] = {{"upcalls", upcall.upcalls},
                            {"action_upcalls", upcall.action_upcalls},
                            {"flows_installed", upcall.flows_installed},
                            {"flows_already_present", upcall.flows_already_present},
                            {"limit_refusals", upcall.limit_refusals},
                            {"translation_errors", upcall.translation_errors},
                            {"upcall_errors", upcall.upcall_errors},
                            {"executes", upcall.executes},
                            {"execute_errors", upcall.execute_errors},
                            {"ukeys", upcall.ukeys},
                            {"flow_limit", upcall.flow_limit},
                            {"configured_flow_limit", config.flow_limit},
                            {"max_idle_ms", config.max_idle_ms},
                            {"n_handlers", config.n_handlers}};
  reply.result["revalidator"] = {{"rounds", upcall.revalidation_rounds},
                                 {"flows_deleted_idle", upcall.flows_deleted_idle},
                                 {"flows_deleted_revalidated", upcall.flows_deleted_revalidated},
                                 {"flows_modified_revalidated", upcall.flows_modified_revalidated},
                                 {"rules_expired", upcall.rules_expired},
                                 {"last_dump_duration_ms", upcall.last_dump_duration_ms}};
  reply.result["last_error"] = upcall.last_error;
  if (!with_text->value_or(true)) return reply;

  uint64_t lookups = datapath.hit + datapath.missed;
  char masks_per_packet[32];
  std::snprintf(masks_per_packet, sizeof masks_per_packet, "%.2f",
                lookups ? static_cast<double>(datapath.masks_visited) / static_cast<double>(lookups) : 0.0);
  char buffer[1024];
  std::snprintf(
      buffer, sizeof buffer,
      "%s:\n"
      "  lookups: hit:%" PRIu64 " missed:%" PRIu64 " lost:%" PRIu64
      "\n"
      "  flows: %" PRIu64
      "\n"
      "  masks: hit:%" PRIu64 " total:%" PRIu64
      " hit/pkt:%s\n"
      "  cache: hit:%" PRIu64
      "\n"
      "  malformed: %" PRIu64 " action errors: %" PRIu64
      "\n"
      "upcalls: %" PRIu64 " (action upcalls %" PRIu64 "), executes %" PRIu64 " (errors %" PRIu64
      ")\n"
      "  flows installed %" PRIu64 ", already present %" PRIu64 ", refused at the limit %" PRIu64
      "\n"
      "  translation errors %" PRIu64 ", upcall errors %" PRIu64
      "\n"
      "  flow limit %" PRIu32 " (configured %" PRIu32 "), max idle %" PRIu32 "ms, %zu handlers, %" PRIu64
      " ukeys\n"
      "revalidator: %" PRIu64 " rounds, last dump %" PRIu32
      "ms\n"
      "  deleted idle %" PRIu64 ", deleted on revalidation %" PRIu64 ", modified in place %" PRIu64
      ", rules expired %" PRIu64 "\n",
      std::string(state.dpif.type()).c_str(), datapath.hit, datapath.missed, datapath.lost, datapath.flows,
      datapath.masks_visited, datapath.masks, masks_per_packet, datapath.cache_hit, datapath.malformed,
      datapath.action_errors, upcall.upcalls, upcall.action_upcalls, upcall.executes, upcall.execute_errors,
      upcall.flows_installed, upcall.flows_already_present, upcall.limit_refusals, upcall.translation_errors,
      upcall.upcall_errors, upcall.flow_limit, config.flow_limit, config.max_idle_ms, config.n_handlers,
      upcall.ukeys, upcall.revalidation_rounds, upcall.last_dump_duration_ms, upcall.flows_deleted_idle,
      upcall.flows_deleted_revalidated, upcall.flows_modified_revalidated, upcall.rules_expired);
  reply.text = buffer;
  if (!upcall.last_error.empty()) reply.text += "last error: " + upcall.last_error + "\n";
  return reply;
}

SwitchCommandResult switch_set(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::optional<uint64_t>> flow_limit = args.optional_unsigned("flow_limit", UINT32_MAX);
  if (!flow_limit) return flow_limit.status();
  Result<std::optional<uint64_t>> max_idle = args.optional_unsigned("max_idle", UINT32_MAX);
  if (!max_idle) return max_idle.status();
  if (*flow_limit && **flow_limit == 0) return invalid_argument("flow_limit must be at least 1");
  if (*max_idle && **max_idle == 0) return invalid_argument("max_idle must be at least 1 ms");
  if (*flow_limit) state.udpif.set_flow_limit(static_cast<uint32_t>(**flow_limit));
  if (*max_idle) state.udpif.set_max_idle_ms(static_cast<uint32_t>(**max_idle));
  UdpifConfig config = state.udpif.config();
  SwitchReply reply;
  reply.result = {{"flow_limit", config.flow_limit}, {"max_idle", config.max_idle_ms}};
  reply.text = format_settings(config);
  return reply;
}

SwitchCommandResult switch_revalidate(SwitchCoreState& state, const SwitchCommandArgs& args) {
  Result<std::optional<bool>> purge = args.optional_bool("purge");
  if (!purge) return purge.status();
  SwitchReply reply;
  if (purge->value_or(false)) {
    state.udpif.purge();
    reply.text = "purged every megaflow\n";
  } else if (state.threads_started) {
    state.udpif.revalidate_and_wait();
    reply.text = "revalidated\n";
  } else {
    // No revalidator thread to wait for (tests drive the Udpif by hand).
    state.udpif.revalidate();
    reply.text = "revalidated\n";
  }
  UdpifStats stats = state.udpif.stats();
  reply.result = {{"revalidation_rounds", stats.revalidation_rounds}, {"ukeys", stats.ukeys}};
  return reply;
}

}  // namespace flowlift
