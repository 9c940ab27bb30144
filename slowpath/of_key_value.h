// The key/value items of ovs-ofctl's flow and action text (OVS's
// ofputil_parse_key_value()): items are separated by commas or white space;
// an item is "key", "key=value", "key:value" or "key(value)". A value runs to
// the next separator but never splits a parenthesised group, so
// "resubmit(,10)", "load:0x1->NXM_NX_REG0[]" and "controller(reason=no_match,
// max_len=128)" each come out as one item.
#pragma once

#include <string_view>

#include "flowlift/status.h"

namespace flowlift {

struct OfKeyValue {
  std::string_view key;
  std::string_view value;  // empty when the item is a bare key
  char delimiter = '\0';   // '=', ':', '(' or '\0' for a bare key
  std::string_view item;   // the whole item as written, for error messages
};

class OfKeyValueReader {
 public:
  explicit OfKeyValueReader(std::string_view text) : text_(text) {}

  // Reads the next item into *out. Returns false at the end of the text (with
  // an ok status) or on malformed text (status() says why: a '(' without its
  // ')').
  bool next(OfKeyValue* out);
  const Status& status() const { return status_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  Status status_;
};

}  // namespace flowlift
