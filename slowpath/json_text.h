// JSON text -> nlohmann::json for input flowliftd does not trust (control
// requests, the configuration file), with errors as values. nlohmann's own
// non-throwing parse() only says "discarded"; a user needs to know where the
// text went wrong, so this keeps the parser's message (line, column, what it
// expected) without letting an exception out.
//
// Nesting is bounded: a value nested deeper than `max_depth` is refused,
// because printing it back (an echoed request id) recurses once per level and
// a 16 MiB line of '[' would otherwise exhaust the stack.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "flowlift/status.h"

namespace flowlift {

inline constexpr size_t kJsonTextMaxDepth = 256;

// Errors (EINVAL) read like "parse error at line 2, column 7: syntax error
// while parsing object - unexpected '}'; expected string literal".
Result<nlohmann::json> parse_json_text(std::string_view text, size_t max_depth = kJsonTextMaxDepth);

// One line of JSON (no newline inside: control responses are newline-framed).
// Never throws: strings that are not valid UTF-8 are printed with U+FFFD.
std::string json_to_line(const nlohmann::json& value);

}  // namespace flowlift
