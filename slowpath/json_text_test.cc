#include "slowpath/json_text.h"

#include <gtest/gtest.h>

namespace flowlift {
namespace {

TEST(JsonText, ParsesAnObject) {
  auto parsed = parse_json_text(R"({"a": [1, 2.5, "x", null, true]})");
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ((*parsed)["a"][2], "x");
}

TEST(JsonText, ParseErrorNamesLineAndColumnWithoutTheExceptionTag) {
  auto parsed = parse_json_text("{\n  \"bridges\": [\n    {\"name\": \"br0\",}\n  ]\n}");
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), EINVAL);
  const std::string& message = parsed.status().message();
  EXPECT_EQ(message.rfind("parse error at line 3, column 20", 0), 0u) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos);
}

TEST(JsonText, EmptyAndTrailingGarbageAreErrors) {
  EXPECT_FALSE(parse_json_text("").is_ok());
  EXPECT_FALSE(parse_json_text("{} {}").is_ok());
}

TEST(JsonText, NestingBeyondTheLimitIsRefusedAndAtTheLimitAccepted) {
  EXPECT_TRUE(parse_json_text(std::string(4, '[') + std::string(4, ']'), 4).is_ok());
  auto deep = parse_json_text(std::string(5, '[') + std::string(5, ']'), 4);
  ASSERT_FALSE(deep.is_ok());
  EXPECT_EQ(deep.status().message(), "values nested deeper than 4 levels");
}

TEST(JsonText, LineOutputHasNoNewlineAndSurvivesInvalidUtf8) {
  nlohmann::json value{{"text", "a\nb"}, {"bad", std::string("\xff\xfe", 2)}};
  std::string line = json_to_line(value);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\\n"), std::string::npos);
  EXPECT_NE(line.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

}  // namespace
}  // namespace flowlift
