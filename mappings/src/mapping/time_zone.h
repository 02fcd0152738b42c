// UTC offsets of an IANA time zone, read from its compiled TZif file (RFC 8536, as tzdata
// installs under /usr/share/zoneinfo). normalize-date uses it to give local wall-clock times
// the offset they had at that moment, daylight saving included. Immutable after parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fl::mappings {

class TimeZone {
 public:
  // nullopt when `bytes` is not a TZif file.
  static std::optional<TimeZone> parse_tzif(std::string_view bytes);

  // The offset in seconds east of UTC at a UTC instant (seconds since 1970). After the file's
  // last transition (2037 in a "fat" file) the last offset holds.
  int offset_at_utc(std::int64_t utc_seconds) const;

  // The offset of a local wall-clock time (seconds since 1970 as if it were UTC). A time that
  // occurs twice (clocks going back) takes its first occurrence; a time that does not exist
  // (clocks going forward) takes the offset from before the change, as mktime does.
  int offset_for_local(std::int64_t local_seconds) const;

 private:
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int> offsets_;               // in force from each transition on
  int initial_offset_ = 0;                 // before the first transition
};

}  // namespace fl::mappings
