#include "cli/console_http.h"

#include "cli/console_assets.h"

namespace fl::cli {
namespace {

// What every console answer carries.
void secure(ConsoleFile& f) {
  f.headers.emplace_back("Content-Security-Policy", std::string(kConsoleCsp));
  f.headers.emplace_back("X-Content-Type-Options", "nosniff");
  f.headers.emplace_back("Referrer-Policy", "no-referrer");
  f.headers.emplace_back("X-Frame-Options", "DENY");
}

const ConsoleAsset* find(std::string_view path) {
  for (const auto& a : console_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

// A short answer in words: a 404, or the redirect to /console/.
ConsoleFile text(int status, std::string body, std::pair<std::string, std::string> header) {
  ConsoleFile f;
  f.status = status;
  f.content_type = "text/plain; charset=utf-8";
  f.body = std::move(body);
  f.headers.push_back(std::move(header));
  secure(f);
  return f;
}

ConsoleFile not_found() {
  return text(404, "not found: the console is at /console/\n", {"Cache-Control", "no-store"});
}

}  // namespace

ConsoleFile console_file(std::string_view path, std::string_view if_none_match) {
  const std::string build(console_build());
  ConsoleFile f;
  if (path == "/console")
    return text(301, "the console is at /console/\n", {"Location", "/console/"});
  if (path == "/console/" || path == "/console/index.html") {
    const ConsoleAsset* index = find("index.html");
    if (index == nullptr) return not_found();
    const std::string etag = "\"" + build + "\"";
    f.headers.emplace_back("ETag", etag);
    // The page names the build's asset URLs: asked again each time, answered 304 while the
    // build is the same.
    f.headers.emplace_back("Cache-Control", "no-cache");
    secure(f);
    if (if_none_match == etag) {
      f.status = 304;
      return f;
    }
    f.status = 200;
    f.content_type = std::string(index->content_type);
    f.body = std::string(index->body);
    constexpr std::string_view kPlaceholder = "{{build}}";
    for (auto at = f.body.find(kPlaceholder); at != std::string::npos;
         at = f.body.find(kPlaceholder, at + build.size())) {
      f.body.replace(at, kPlaceholder.size(), build);
    }
    return f;
  }
  const std::string prefix = "/console/" + build + "/";
  if (!path.starts_with(prefix)) return not_found();
  const std::string_view rest = path.substr(prefix.size());
  const ConsoleAsset* asset = rest == "index.html" ? nullptr : find(rest);
  if (asset == nullptr) return not_found();
  f.status = 200;
  f.content_type = std::string(asset->content_type);
  f.body = std::string(asset->body);
  f.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  f.headers.emplace_back("ETag", "\"" + build + "\"");
  secure(f);
  return f;
}

}  // namespace fl::cli
