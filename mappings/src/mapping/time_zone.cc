#include "mapping/time_zone.h"

#include <algorithm>
#include <array>

namespace fl::mappings {
namespace {

std::int64_t be(std::string_view bytes, std::size_t at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  // Sign-extend the 32- or 64-bit two's complement value.
  if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

struct Counts {
  std::int64_t isut, isstd, leap, time, type, chars;
};

std::optional<Counts> header(std::string_view bytes, std::size_t at) {
  if (bytes.size() < at + 44 || bytes.substr(at, 4) != "TZif") return std::nullopt;
  Counts c{be(bytes, at + 20, 4), be(bytes, at + 24, 4), be(bytes, at + 28, 4),
           be(bytes, at + 32, 4), be(bytes, at + 36, 4), be(bytes, at + 40, 4)};
  if (c.isut < 0 || c.isstd < 0 || c.leap < 0 || c.time < 0 || c.type < 1 || c.chars < 0) {
    return std::nullopt;
  }
  return c;
}

std::size_t block_size(const Counts& c, std::size_t time_width) {
  return static_cast<std::size_t>(c.time) * time_width + static_cast<std::size_t>(c.time) +
         static_cast<std::size_t>(c.type) * 6 + static_cast<std::size_t>(c.chars) +
         static_cast<std::size_t>(c.leap) * (time_width + 4) + static_cast<std::size_t>(c.isstd) +
         static_cast<std::size_t>(c.isut);
}

}  // namespace

std::optional<TimeZone> TimeZone::parse_tzif(std::string_view bytes) {
  auto first = header(bytes, 0);
  if (!first) return std::nullopt;
  std::size_t at = 44;
  Counts c = *first;
  std::size_t width = 4;
  if (bytes[4] >= '2') {
    // Version 2+ repeats the data with 64-bit times after the version 1 block; use that.
    at += block_size(c, 4);
    auto second = header(bytes, at);
    if (!second) return std::nullopt;
    c = *second;
    at += 44;
    width = 8;
  }
  if (bytes.size() < at + block_size(c, width)) return std::nullopt;
  TimeZone zone;
  const std::size_t types_at = at + static_cast<std::size_t>(c.time) * (width + 1);
  auto utoff = [&](std::size_t type) {
    return static_cast<int>(be(bytes, types_at + type * 6, 4));
  };
  for (std::int64_t i = 0; i < c.time; ++i) {
    const std::size_t type = static_cast<unsigned char>(
        bytes[at + static_cast<std::size_t>(c.time) * width + static_cast<std::size_t>(i)]);
    if (type >= static_cast<std::size_t>(c.type)) return std::nullopt;
    zone.transitions_.push_back(be(bytes, at + static_cast<std::size_t>(i) * width, width));
    zone.offsets_.push_back(utoff(type));
  }
  zone.initial_offset_ = utoff(0);
  return zone;
}

int TimeZone::offset_at_utc(std::int64_t utc_seconds) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)];
}

int TimeZone::offset_for_local(std::int64_t local_seconds) const {
  // Offsets never exceed 14 hours, so the ones in force 14 hours either side are the only
  // candidates for this wall-clock time.
  constexpr std::int64_t kSpan = 14 * 3600;
  const std::array<int, 3> candidates{offset_at_utc(local_seconds - kSpan),
                                      offset_at_utc(local_seconds),
                                      offset_at_utc(local_seconds + kSpan)};
  std::optional<int> best;
  for (int o : candidates) {
    // Valid when the zone really has offset o at the UTC instant it implies; the largest valid
    // offset is the earliest instant.
    if (offset_at_utc(local_seconds - o) == o && (!best || o > *best)) best = o;
  }
  return best.value_or(candidates.front());
}

}  // namespace fl::mappings
