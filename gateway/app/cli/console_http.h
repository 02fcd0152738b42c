// The console's pages as HTTP answers (GET /console/...), apart from its data (/console/api/,
// api_server.cc). The page and its assets hold no data, so they are served without a token; every
// call they make for data carries the viewer's token.
//   /console             -> 301 to /console/
//   /console/            index.html, its asset URLs under the build id; revalidated every time
//                        (no-cache, ETag the build id)
//   /console/<build>/... an asset, cached for a year (immutable): a new build has new URLs
// Every answer carries the content security policy: scripts, styles, images and calls from the
// gateway itself only, no inline script or style, no framing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fl::cli {

inline constexpr std::string_view kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

struct ConsoleFile {
  int status = 404;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
};

// `path` the request's path (no query); `if_none_match` its If-None-Match header.
ConsoleFile console_file(std::string_view path, std::string_view if_none_match);

}  // namespace fl::cli
