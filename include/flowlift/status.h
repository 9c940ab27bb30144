// Errors as values. A Status carries an errno-style code (so callers can tell
// EEXIST from ENOENT the way the kernel's ovs_flow_cmd_* callers do) and a
// message a user can act on: it names the field or byte that was wrong.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace flowlift {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == 0; }
  explicit operator bool() const { return is_ok(); }
  // errno value (EINVAL, EEXIST, ENOENT, ...); 0 when ok.
  int code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("ipv4: " + "bad length") so errors name where they happened.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  int code_ = 0;
  std::string message_;
};

inline Status invalid_argument(std::string message) { return Status(EINVAL, std::move(message)); }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace flowlift
