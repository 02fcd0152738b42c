// The console's static files (console/ in the source tree), compiled into the binary by
// cmake/EmbedConsole.cmake at build time.
#pragma once

#include <span>
#include <string_view>

namespace fl::cli {

struct ConsoleAsset {
  std::string_view path;  // relative to console/: "index.html", "views/audit.js"
  std::string_view content_type;
  std::string_view body;
};

std::span<const ConsoleAsset> console_assets();
// 16 hex digits of a digest over every file: part of the assets' URLs, so that a browser may keep
// them for good and still never runs a stale one.
std::string_view console_build();

}  // namespace fl::cli
