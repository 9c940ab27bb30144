// Parsing through nlohmann's SAX interface is what lets the error message
// survive with exceptions off: the DOM builder is wrapped, and its
// parse_error() callback (which would otherwise throw or be discarded) is
// recorded here instead.
#include "slowpath/json_text.h"

#include <cstdint>
#include <string>
#include <utility>

namespace flowlift {
namespace {

using JsonDomBuilder = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;

class JsonTextSaxRecorder {
 public:
  JsonTextSaxRecorder(nlohmann::json& root, size_t max_depth)
      : builder_(root, /*allow_exceptions=*/false), max_depth_(max_depth) {}

  bool null() { return builder_.null(); }
  bool boolean(bool value) { return builder_.boolean(value); }
  bool number_integer(nlohmann::json::number_integer_t value) { return builder_.number_integer(value); }
  bool number_unsigned(nlohmann::json::number_unsigned_t value) { return builder_.number_unsigned(value); }
  bool number_float(nlohmann::json::number_float_t value, const std::string& text) {
    return builder_.number_float(value, text);
  }
  bool string(std::string& value) { return builder_.string(value); }
  bool binary(nlohmann::json::binary_t& value) { return builder_.binary(value); }
  bool start_object(size_t elements) { return enter() && builder_.start_object(elements); }
  bool key(std::string& value) { return builder_.key(value); }
  bool end_object() {
    --depth_;
    return builder_.end_object();
  }
  bool start_array(size_t elements) { return enter() && builder_.start_array(elements); }
  bool end_array() {
    --depth_;
    return builder_.end_array();
  }
  bool parse_error(size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& error) {
    error_ = strip_exception_prefix(error.what());
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      error_ = "values nested deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    return true;
  }

  // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
  // -> "parse error at line 1, column 2: ...": the bracketed tag means
  // nothing to a user.
  static std::string strip_exception_prefix(std::string message) {
    if (!message.empty() && message.front() == '[') {
      size_t close = message.find("] ");
      if (close != std::string::npos) message.erase(0, close + 2);
    }
    return message;
  }

  JsonDomBuilder builder_;
  size_t max_depth_;
  size_t depth_ = 0;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> parse_json_text(std::string_view text, size_t max_depth) {
  nlohmann::json root;
  JsonTextSaxRecorder recorder(root, max_depth);
  bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &recorder,
                                          nlohmann::json::input_format_t::json, /*strict=*/true);
  if (!parsed) {
    std::string message = recorder.error();
    if (message.empty()) message = "not valid JSON";
    return invalid_argument(std::move(message));
  }
  return root;
}

std::string json_to_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace flowlift
