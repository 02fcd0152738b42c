#include "fl/base/result.h"

namespace fl {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid-input";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kPolicyDenied:
      return "policy-denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kIntegrity:
      return "integrity";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPermissionDenied:
      return "permission-denied";
    case ErrorCode::kErased:
      return "erased";
  }
  return "unknown";
}

}  // namespace fl
