// Splitting ovs-ofctl text into key/value items.
#include "slowpath/of_key_value.h"

#include <string>

namespace flowlift {

namespace {

constexpr std::string_view kSeparators = ", \t\r\n";

bool is_one_of(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

// Length of the value starting at text[0], up to one of `stops` outside any
// parentheses. Sets *unbalanced when a '(' is never closed.
size_t value_length(std::string_view text, std::string_view stops, bool* unbalanced) {
  size_t n = 0;
  while (n < text.size() && !is_one_of(text[n], stops)) {
    if (text[n] == '(') {
      int depth = 0;
      do {
        if (n >= text.size()) {
          *unbalanced = true;
          return n;
        }
        if (text[n] == '(') ++depth;
        if (text[n] == ')') --depth;
        ++n;
      } while (depth > 0);
    } else {
      ++n;
    }
  }
  return n;
}

}  // namespace

bool OfKeyValueReader::next(OfKeyValue* out) {
  while (pos_ < text_.size() && is_one_of(text_[pos_], kSeparators)) ++pos_;
  if (pos_ >= text_.size()) return false;

  size_t start = pos_;
  size_t key_end = start;
  while (key_end < text_.size() && !is_one_of(text_[key_end], ":=(, \t\r\n")) ++key_end;
  *out = OfKeyValue{};
  out->key = text_.substr(start, key_end - start);
  char delimiter = key_end < text_.size() ? text_[key_end] : '\0';
  if (delimiter != ':' && delimiter != '=' && delimiter != '(') {
    pos_ = key_end;
    out->item = out->key;
    return true;
  }
  out->delimiter = delimiter;
  size_t value_start = key_end + 1;
  bool unbalanced = false;
  std::string_view rest = text_.substr(value_start);
  size_t length = value_length(rest, delimiter == '(' ? ")" : kSeparators, &unbalanced);
  if (delimiter == '(') {
    if (unbalanced || length >= rest.size()) {
      status_ = invalid_argument(std::string(text_.substr(start)) + ": missing ')'");
      pos_ = text_.size();
      return false;
    }
    out->value = rest.substr(0, length);
    size_t end = value_start + length + 1;  // past ')'
    // "key(x)->y" (as in "move(...)->..."): the item continues to the next separator.
    if (text_.substr(end, 2) == "->") {
      size_t more = value_length(text_.substr(end), kSeparators, &unbalanced);
      out->value = text_.substr(value_start, end + more - value_start);
      end += more;
    }
    pos_ = end;
  } else {
    if (unbalanced) {
      status_ = invalid_argument(std::string(text_.substr(start)) + ": missing ')'");
      pos_ = text_.size();
      return false;
    }
    out->value = rest.substr(0, length);
    pos_ = value_start + length;
  }
  out->item = text_.substr(start, pos_ - start);
  return true;
}

}  // namespace flowlift
