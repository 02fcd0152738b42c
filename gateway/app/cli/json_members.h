// Tolerant reads of JSON the CLI did not write (receipts, resources): a member that is absent
// or of another type reads as empty, never as an error.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>

namespace fl::cli {

inline std::string member_string(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : "";
}

inline std::uint64_t member_uint(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return 0;
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
}

inline std::optional<std::int64_t> member_int64(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return std::nullopt;
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

}  // namespace fl::cli
