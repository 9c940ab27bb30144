// Flow-mod text: command keywords, the items only flow-mods have, what each
// OpenFlow version makes of the same text (OVS 3.1's parse_ofp_str__() and
// ofputil_decode_flow_mod(), as tests/ofproto.at exercises them), and files
// with comments and line numbers.
#include "slowpath/of_flow_mod.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "slowpath/of_tables_for_tests.h"

namespace flowlift {
namespace {

using of_tables_testing::test_ports;
using ::testing::HasSubstr;

Result<OfFlowMod> parse(std::string_view text, OfFlowModProtocol protocol = OfFlowModProtocol::kOpenFlow14) {
  OfFlowModParseOptions options;
  options.protocol = protocol;
  return parse_of_flow_mod(text, test_ports(), options);
}

OfMatch match(std::string_view text) { return *parse_of_match(text, test_ports()); }

TEST(OfFlowModText, LineWithoutKeywordIsAnAdd) {
  Result<OfFlowMod> mod = parse("priority=10,ip actions=drop");
  ASSERT_TRUE(mod.is_ok()) << mod.status().message();
  EXPECT_EQ(mod->command, OfFlowModCommand::kAdd);
  EXPECT_EQ(mod->rule.priority, 10);
  EXPECT_EQ(mod->rule.match, match("ip"));
  EXPECT_TRUE(mod->rule.actions.empty());
}

TEST(OfFlowModText, AnyPrefixOfAKeywordNamesTheCommandAsInOvs) {
  // strncmp(token, keyword, strlen(token)), keywords tried in OVS's order.
  const std::pair<const char*, OfFlowModCommand> cases[] = {
      {"add ip actions=drop", OfFlowModCommand::kAdd},
      {"a ip actions=drop", OfFlowModCommand::kAdd},
      {"modify ip actions=drop", OfFlowModCommand::kModify},
      {"mod ip actions=drop", OfFlowModCommand::kModify},
      {"modify_strict ip actions=drop", OfFlowModCommand::kModifyStrict},
      {"modify_s,ip actions=drop", OfFlowModCommand::kModifyStrict},
      {"delete ip", OfFlowModCommand::kDelete},
      {"del ip", OfFlowModCommand::kDelete},
      {"delete_strict ip", OfFlowModCommand::kDeleteStrict},
      {"  \tdelete_st\tip", OfFlowModCommand::kDeleteStrict},
  };
  for (const auto& [text, command] : cases) {
    Result<OfFlowMod> mod = parse(text);
    ASSERT_TRUE(mod.is_ok()) << text << ": " << mod.status().message();
    EXPECT_EQ(mod->command, command) << text;
    EXPECT_EQ(mod->rule.match, match("ip")) << text;
  }
}

TEST(OfFlowModText, BareDeleteSelectsEveryRuleOfEveryTable) {
  Result<OfFlowMod> mod = parse("delete");
  ASSERT_TRUE(mod.is_ok()) << mod.status().message();
  EXPECT_EQ(mod->command, OfFlowModCommand::kDelete);
  EXPECT_TRUE(mod->rule.match.mask.is_catchall());
  EXPECT_EQ(mod->rule.table, kOfTableAll);
  EXPECT_EQ(mod->out_port, kOfPortNone);
  EXPECT_EQ(mod->rule.cookie_mask, 0u);
}

TEST(OfFlowModText, AddSetsTheCookieButCannotMaskIt) {
  Result<OfFlowMod> mod = parse("cookie=0x5,ip actions=drop");
  ASSERT_TRUE(mod.is_ok());
  EXPECT_EQ(mod->rule.cookie, 0x5u);
  EXPECT_EQ(mod->rule.cookie_mask, 0u);

  Result<OfFlowMod> masked = parse("cookie=0x5/0xff,ip actions=drop");
  ASSERT_FALSE(masked.is_ok());
  EXPECT_THAT(masked.status().message(), HasSubstr("flow additions cannot use a cookie mask"));
}

TEST(OfFlowModText, DeleteMatchesCookiesOnlyWithAMask) {
  Result<OfFlowMod> plain = parse("delete cookie=0x5,ip");
  ASSERT_FALSE(plain.is_ok());
  EXPECT_THAT(plain.status().message(), HasSubstr("specify a mask, e.g. cookie=0x5/-1"));

  Result<OfFlowMod> masked = parse("delete cookie=0x15/0xf,ip");
  ASSERT_TRUE(masked.is_ok()) << masked.status().message();
  EXPECT_EQ(masked->rule.cookie, 0x5u);  // stored masked, as OVS sends it
  EXPECT_EQ(masked->rule.cookie_mask, 0xfu);

  Result<OfFlowMod> all_ones = parse("delete cookie=1/-1");
  ASSERT_TRUE(all_ones.is_ok()) << all_ones.status().message();
  EXPECT_EQ(all_ones->rule.cookie_mask, UINT64_MAX);
}

TEST(OfFlowModText, DeleteTakesTableOutPortAndAMatch) {
  Result<OfFlowMod> mod = parse("delete table=3,out_port=p2,tcp,tp_dst=80");
  ASSERT_TRUE(mod.is_ok()) << mod.status().message();
  EXPECT_EQ(mod->rule.table, 3);
  EXPECT_EQ(mod->out_port, 2u);
  EXPECT_EQ(mod->rule.match, match("tcp,tp_dst=80"));

  Result<OfFlowMod> controller = parse("delete out_port=CONTROLLER");
  ASSERT_TRUE(controller.is_ok());
  EXPECT_EQ(controller->out_port, kOfPortController);
}

TEST(OfFlowModText, OnlyDeleteStrictTakesAPriorityAmongDeletes) {
  Result<OfFlowMod> strict = parse("delete_strict priority=100,ip");
  ASSERT_TRUE(strict.is_ok()) << strict.status().message();
  EXPECT_EQ(strict->rule.priority, 100);

  Result<OfFlowMod> defaulted = parse("delete_strict ip");
  ASSERT_TRUE(defaulted.is_ok());
  EXPECT_EQ(defaulted->rule.priority, kOfDefaultPriority);

  // A loose delete ignores priorities, so OVS does not take one.
  EXPECT_FALSE(parse("delete priority=100,ip").is_ok());
  EXPECT_FALSE(parse("delete ip actions=drop").is_ok());
  EXPECT_FALSE(parse("delete idle_timeout=5").is_ok());
}

TEST(OfFlowModText, DumpStatisticsAreSkippedSoADumpReadsBack) {
  Result<OfFlowMod> mod =
      parse("delete_strict duration=4.058s, table=10, n_packets=0, n_bytes=0, idle_age=3, priority=450,ip");
  ASSERT_TRUE(mod.is_ok()) << mod.status().message();
  EXPECT_EQ(mod->rule.table, 10);
  EXPECT_EQ(mod->rule.priority, 450);
}

TEST(OfFlowModText, ModifyDoesNotTakeImportance) {
  Result<OfFlowMod> mod = parse("modify importance=5,ip actions=drop");
  ASSERT_FALSE(mod.is_ok());
  EXPECT_THAT(mod.status().message(), HasSubstr("importance"));
  EXPECT_TRUE(parse("add importance=5,ip actions=drop").is_ok());
}

TEST(OfFlowModText, AddAndModifyNeedActions) {
  EXPECT_FALSE(parse("ip").is_ok());
  EXPECT_FALSE(parse("modify ip").is_ok());
}

TEST(OfFlowModText, GotoTableIsCheckedAgainstTheGivenTable) {
  Result<OfFlowMod> mod = parse("table=3,ip actions=goto_table:2");
  ASSERT_FALSE(mod.is_ok());
  EXPECT_THAT(mod.status().message(), HasSubstr("later table"));
  EXPECT_TRUE(parse("table=3,ip actions=goto_table:4").is_ok());
}

TEST(OfFlowModText, OpenFlow14AddsAndModifiesInTable0AndDeletesInAllTables) {
  EXPECT_EQ(parse("ip actions=drop")->rule.table, 0);
  EXPECT_EQ(parse("table=255,ip actions=drop")->rule.table, 0);
  EXPECT_EQ(parse("modify ip actions=drop")->rule.table, 0);
  EXPECT_EQ(parse("delete ip")->rule.table, kOfTableAll);
  EXPECT_EQ(parse("modify table=7,ip actions=drop")->rule.table, 7);
}

TEST(OfFlowModText, OpenFlow10WithoutTableNamesEveryTable) {
  EXPECT_EQ(parse("ip actions=drop", OfFlowModProtocol::kOpenFlow10)->rule.table, kOfTableAll);
  EXPECT_EQ(parse("modify ip actions=drop", OfFlowModProtocol::kOpenFlow10)->rule.table, kOfTableAll);
  EXPECT_EQ(parse("modify table=2,ip actions=drop", OfFlowModProtocol::kOpenFlow10)->rule.table, 2);
}

TEST(OfFlowModText, OpenFlow14ModifyNeverChangesCookiesOrAdds) {
  // "no mod flow with cookie change (OpenFlow 1.2)" and "mod flow with
  // cookie miss (mask==0) - OF1.2" in tests/ofproto.at.
  Result<OfFlowMod> mod = parse("modify cookie=0x2,in_port=1,actions=output:1");
  ASSERT_TRUE(mod.is_ok());
  EXPECT_EQ(mod->new_cookie, kOfCookieUnchanged);
  EXPECT_EQ(mod->rule.cookie_mask, 0u);
}

TEST(OfFlowModText, OpenFlow10ModifySetsTheCookieAndMayAdd) {
  // "mod flow with cookie change (NXM)": the given cookie replaces the old.
  Result<OfFlowMod> given =
      parse("modify cookie=0x2,in_port=1,actions=output:1", OfFlowModProtocol::kOpenFlow10);
  ASSERT_TRUE(given.is_ok());
  EXPECT_EQ(given->new_cookie, 0x2u);
  // NXM always carries a cookie: 0 when the text has none.
  Result<OfFlowMod> none = parse("modify in_port=1,actions=output:1", OfFlowModProtocol::kOpenFlow10);
  EXPECT_EQ(none->new_cookie, 0u);
  // With a cookie mask there is no cookie to set, so nothing to add either.
  Result<OfFlowMod> masked =
      parse("modify cookie=1/1,in_port=1,actions=output:1", OfFlowModProtocol::kOpenFlow10);
  EXPECT_EQ(masked->new_cookie, kOfCookieUnchanged);
  EXPECT_EQ(masked->rule.cookie_mask, 1u);
  // "mod flows based on cookie mask with cookie change": both at once.
  Result<OfFlowMod> both =
      parse("modify cookie=1/-1,cookie=4,actions=output:4", OfFlowModProtocol::kOpenFlow10);
  ASSERT_TRUE(both.is_ok()) << both.status().message();
  EXPECT_EQ(both->rule.cookie, 1u);
  EXPECT_EQ(both->rule.cookie_mask, UINT64_MAX);
  EXPECT_EQ(both->new_cookie, 4u);
}

TEST(OfFlowModText, OpenFlow10AddAlwaysResetsCountsAndLosesImportance) {
  Result<OfFlowMod> mod = parse("importance=9,ip actions=drop", OfFlowModProtocol::kOpenFlow10);
  ASSERT_TRUE(mod.is_ok());
  EXPECT_EQ(mod->rule.flags, kOfRuleResetCounts);
  EXPECT_EQ(mod->rule.importance, 0);
  EXPECT_EQ(parse("importance=9,ip actions=drop")->rule.importance, 9);
  EXPECT_EQ(parse("ip actions=drop")->rule.flags, 0);
  // A modify in OpenFlow 1.0 never resets.
  EXPECT_EQ(parse("modify ip actions=drop", OfFlowModProtocol::kOpenFlow10)->rule.flags, 0);
}

TEST(OfFlowModText, OpenFlow10CannotSendNewerFlags) {
  Result<OfFlowMod> mod = parse("reset_counts,ip actions=drop", OfFlowModProtocol::kOpenFlow10);
  ASSERT_FALSE(mod.is_ok());
  EXPECT_THAT(mod.status().message(), HasSubstr("OpenFlow 1.2"));
  EXPECT_FALSE(parse("no_packet_counts,ip actions=drop", OfFlowModProtocol::kOpenFlow10).is_ok());
  EXPECT_TRUE(parse("reset_counts,no_byte_counts,ip actions=drop").is_ok());
}

TEST(OfFlowModText, AFixedCommandTakesNoKeyword) {
  OfFlowModParseOptions options;
  options.command = OfFlowModCommand::kModifyStrict;
  Result<OfFlowMod> mod = parse_of_flow_mod("priority=5,ip actions=drop", test_ports(), options);
  ASSERT_TRUE(mod.is_ok()) << mod.status().message();
  EXPECT_EQ(mod->command, OfFlowModCommand::kModifyStrict);
  EXPECT_EQ(mod->rule.priority, 5);
  EXPECT_FALSE(parse_of_flow_mod("modify priority=5,ip actions=drop", test_ports(), options).is_ok());
}

TEST(OfFlowModFile, CommentsAndBlankLinesAreSkippedAndLinesRecorded) {
  std::string_view file =
      "# a table\n"
      "\n"
      "priority=10,ip actions=drop   # trailing comment\n"
      "   \t\r\n"
      "delete_strict priority=10,ip\n"
      "modify tcp actions=output:p1\r\n";
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(file, test_ports());
  ASSERT_TRUE(mods.is_ok()) << mods.status().message();
  ASSERT_EQ(mods->size(), 3u);
  EXPECT_EQ((*mods)[0].command, OfFlowModCommand::kAdd);
  EXPECT_EQ((*mods)[0].line, 3);
  EXPECT_EQ((*mods)[1].command, OfFlowModCommand::kDeleteStrict);
  EXPECT_EQ((*mods)[1].line, 5);
  EXPECT_EQ((*mods)[2].command, OfFlowModCommand::kModify);
  EXPECT_EQ((*mods)[2].line, 6);
}

TEST(OfFlowModFile, ErrorsNameTheLine) {
  std::string_view file =
      "ip actions=drop\n"
      "# comment\n"
      "tcp,tp_dst=80 actions=output:p9\n";
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(file, test_ports());
  ASSERT_FALSE(mods.is_ok());
  EXPECT_THAT(mods.status().message(), ::testing::StartsWith("line 3: "));
  EXPECT_THAT(mods.status().message(), HasSubstr("p9"));
}

TEST(OfFlowModFile, ABundleFileStartsEachLineWithFlow) {
  OfFlowModParseOptions options;
  options.bundle_file = true;
  Result<std::vector<OfFlowMod>> mods = parse_of_flow_mod_file(
      "flow add ip actions=drop\nflow delete_strict ip\nflow tcp actions=drop\n", test_ports(), options);
  ASSERT_TRUE(mods.is_ok()) << mods.status().message();
  ASSERT_EQ(mods->size(), 3u);
  EXPECT_EQ((*mods)[1].command, OfFlowModCommand::kDeleteStrict);
  EXPECT_EQ((*mods)[2].command, OfFlowModCommand::kAdd);

  Result<std::vector<OfFlowMod>> group = parse_of_flow_mod_file(
      "flow add ip actions=drop\ngroup add group_id=1,type=all\n", test_ports(), options);
  ASSERT_FALSE(group.is_ok());
  EXPECT_THAT(group.status().message(), ::testing::StartsWith("line 2: "));
  EXPECT_THAT(group.status().message(), HasSubstr("only flow mods"));
}

}  // namespace
}  // namespace flowlift
