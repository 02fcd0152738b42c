// A JSON string literal with the minimal escapes of RFC 8785: quote, backslash, the five
// short control escapes, other control characters as \u00xx, everything else verbatim (UTF-8
// included). The canonical JSON writer and the log facade both write strings this way.
#pragma once

#include <string>
#include <string_view>

namespace fl {

void append_json_string(std::string& out, std::string_view text);

}  // namespace fl
