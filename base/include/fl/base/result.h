// Result<T>: the outcome of an operation that can fail for reasons the caller must handle (bad
// input, a dependency that is down). Bugs are not Results; they are FL_ASSERTs. The shape follows
// C++23 std::expected, so moving to it later is a rename, not a rewrite.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fl {

enum class ErrorCode {
  kInvalidInput,      // the event or file is wrong; retrying will not help
  kNotFound,          // the thing asked for does not exist
  kPolicyDenied,      // a rule forbids it
  kUnavailable,       // a dependency is down or slow; retry with backoff
  kIntegrity,         // a hash, tag or signature did not verify
  kConflict,          // the ledger or a store already holds something different
  kPermissionDenied,  // the account or participant lacks the right
  kErased,            // the patient was erased (GDPR Art. 17): the data is gone for good
};

// The stable name of a code, used as the dead-letter `error-code` header and in logs.
std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // for operators; never contains PHI
  std::string where;    // JSON pointer, FHIRPath path, config file, or endpoint
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;  // success or an Error, nothing else

}  // namespace fl
