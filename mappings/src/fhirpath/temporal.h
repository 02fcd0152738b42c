// Dates, date-times and times: parsing (FHIRPath literals and FHIR JSON strings), writing,
// comparison with FHIRPath's precision rules, and calendar arithmetic.
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl::mappings::fhirpath {

enum class TemporalKind : std::uint8_t { kDate, kDateTime, kTime };

// "2015-02-04" (Date), "2015-02-04T14:34:28.123+10:00" or "2015T" or "2015" (DateTime),
// "14:34:28.123" (Time). Fractions beyond milliseconds are cut; nullopt when malformed.
std::optional<Temporal> parse_temporal(std::string_view text, TemporalKind kind);

// The ISO 8601 form FHIR JSON uses, to the value's precision ("2015-02", "14:30").
std::string format_temporal(const Temporal& value, TemporalKind kind);

// FHIRPath ordering: -1, 0 or 1, or nullopt when the answer depends on digits one side lacks
// (@2018-03 vs @2018-03-01) or on a time zone only one side has. Seconds and milliseconds are
// one precision: @T10:30:00 equals @T10:30:00.0. Dates compare with date-times.
std::optional<int> compare_temporal(const Temporal& a, const Temporal& b);

// True when the two have the same precision (seconds and milliseconds counted as one).
bool same_precision(const Temporal& a, const Temporal& b);

// Adds `amount` whole units of `unit` (a calendar keyword or its UCUM code: year, month, week,
// day, hour, minute, second, millisecond; 'wk', 'd', 'h', 'min', 's', 'ms'). Returns nullopt
// for any other unit, including the UCUM 'a' and 'mo', whose length is not a calendar's.
std::optional<Temporal> add_duration(const Temporal& value, TemporalKind kind, std::int64_t amount,
                                     std::string_view unit);

// The precision in digits as FHIRPath's precision() counts them: 4 year, 6 month, 8 day,
// 10 hour, 12 minute, 14 second, 17 millisecond (times: 2, 4, 6, 9).
int precision_digits(const Temporal& value, TemporalKind kind);

int days_in_month(int year, int month);

// Days since 1970-01-01 of a proleptic Gregorian date, and back (fills year, month, day).
std::int64_t days_from_civil(std::int64_t y, int m, int d);
void civil_from_days(std::int64_t z, Temporal& t);

}  // namespace fl::mappings::fhirpath
