// The log facade: one JSON line per event on stderr, with a name and typed fields. Fields take
// numbers, booleans and short strings that are never PHI: pseudonymous keys, hashes, topic,
// partition and offset, error codes. Resource content has no way in. Per-event facts are
// metrics, not log lines. Safe to call from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace fl::log {

enum class Level { kDebug, kInfo, kWarn, kError };

using Value = std::variant<std::int64_t, double, bool, std::string>;

struct Field {
  std::string_view name;
  Value value;

  Field(std::string_view n, std::string_view v) : name(n), value(std::string(v)) {}
  Field(std::string_view n, const char* v) : name(n), value(std::string(v)) {}
  Field(std::string_view n, const std::string& v) : name(n), value(v) {}
  Field(std::string_view n, bool v) : name(n), value(v) {}
  Field(std::string_view n, double v) : name(n), value(v) {}
  template <typename I>
  requires std::is_integral_v<I> Field(std::string_view n, I v)
      : name(n), value(static_cast<std::int64_t>(v)) {}
};

void set_min_level(Level level);
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kDebug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kInfo, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kWarn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kError, event, fields);
}

}  // namespace fl::log
