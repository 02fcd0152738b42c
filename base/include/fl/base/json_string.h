// Strings as JSON text. append_json_string writes a JSON string literal with the minimal escapes
// of RFC 8785: quote, backslash, the five short control escapes, other control characters as
// \u00xx, everything else verbatim. The canonical JSON writer and the log facade both write
// strings this way.
//
// JSON text is UTF-8 (RFC 8259 section 8.1), and a strict consumer refuses a document with one
// bad byte, so every string written into JSON goes through valid_utf8 first: append_json_string
// does it itself; a RapidJSON writer's caller (the AuditEvents) calls it. Pure functions; any
// thread.
#pragma once

#include <string>
#include <string_view>

namespace fl {

// True when `text` is well-formed UTF-8 (the Unicode Standard's Table 3-7): no overlong forms,
// no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences, no stray
// continuation bytes. U+0000 is well-formed.
bool is_valid_utf8(std::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD, one per maximal subpart (the
// Unicode Standard's recommended practice, which the WHATWG decoder and Python's "replace"
// follow): "\xe2\x82" truncated is one U+FFFD, the overlong "\xc0\xaf" two, the surrogate
// "\xed\xa0\x80" three. Well-formed input comes back unchanged; callers on a hot path check
// is_valid_utf8 first and call this only when it is false.
std::string valid_utf8(std::string_view text);

// Appends `text` as a JSON string literal; ill-formed UTF-8 in it is written as U+FFFD
// (valid_utf8), so the result is always valid JSON text.
void append_json_string(std::string& out, std::string_view text);

}  // namespace fl
