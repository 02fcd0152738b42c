// The console's pages as HTTP answers, over the files embedded at build time (console/ through
// cmake/EmbedConsole.cmake): the page under /console/ names its assets by build id and is
// revalidated, the assets are cached for good, nothing else is served, and every answer carries
// the content security policy. The embedded files are checked against that policy too: an
// inline script, handler or style would be blocked by the browser without a word here.
#include "cli/console_http.h"

#include "cli/console_assets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace fl::cli {
namespace {

std::optional<std::string> header(const ConsoleFile& f, std::string_view name) {
  for (const auto& [k, v] : f.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string build() { return std::string(console_build()); }

std::string etag() { return "\"" + build() + "\""; }

std::optional<std::string_view> embedded(std::string_view path) {
  for (const auto& a : console_assets()) {
    if (a.path == path) return a.body;
  }
  return std::nullopt;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool ends_with(std::string_view path, std::string_view suffix) { return path.ends_with(suffix); }

// A build id that is not this build's.
std::string stale_build() {
  std::string stale = build();
  stale[0] = stale[0] == '0' ? '1' : '0';
  return stale;
}

TEST(ConsoleBuild, IsSixteenHexDigits) {
  EXPECT_TRUE(std::regex_match(build(), std::regex("[0-9a-f]{16}"))) << build();
}

TEST(ConsoleHttp, TheBarePathRedirectsToTheSlash) {
  auto f = console_file("/console", "");

  EXPECT_EQ(f.status, 301);
  EXPECT_EQ(header(f, "Location"), "/console/");
}

TEST(ConsoleHttp, ThePageNamesTheAssetsOfThisBuild) {
  const auto index = embedded("index.html");
  ASSERT_TRUE(index) << "console/index.html is not embedded";
  ASSERT_GT(count(*index, "{{build}}"), 0u) << "the page names no asset by build id";

  auto f = console_file("/console/", "");

  EXPECT_EQ(f.status, 200);
  EXPECT_TRUE(f.content_type.starts_with("text/html")) << f.content_type;
  EXPECT_EQ(f.body.find("{{build}}"), std::string::npos);
  std::string expected(*index);
  for (auto at = expected.find("{{build}}"); at != std::string::npos;
       at = expected.find("{{build}}")) {
    expected.replace(at, 9, build());
  }
  EXPECT_EQ(f.body, expected);
}

TEST(ConsoleHttp, ThePageIsRevalidatedByItsBuildId) {
  auto f = console_file("/console/", "");

  EXPECT_EQ(header(f, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(f, "ETag"), etag());
}

TEST(ConsoleHttp, ThePageOfTheSameBuildIsNotModified) {
  auto f = console_file("/console/", etag());

  EXPECT_EQ(f.status, 304);
  EXPECT_EQ(f.body, "");
  EXPECT_EQ(header(f, "ETag"), etag());
}

TEST(ConsoleHttp, ThePageOfAnotherBuildIsSentAgain) {
  auto f = console_file("/console/", "\"" + stale_build() + "\"");

  EXPECT_EQ(f.status, 200);
  EXPECT_FALSE(f.body.empty());
}

TEST(ConsoleHttp, AnAssetOfThisBuildIsCachedForAYear) {
  const auto app = embedded("app.js");
  ASSERT_TRUE(app) << "console/app.js is not embedded";

  auto f = console_file("/console/" + build() + "/app.js", "");

  EXPECT_EQ(f.status, 200);
  EXPECT_TRUE(f.content_type.starts_with("text/javascript")) << f.content_type;
  EXPECT_EQ(f.body, *app);
  const auto cache = header(f, "Cache-Control");
  ASSERT_TRUE(cache);
  EXPECT_NE(cache->find("immutable"), std::string::npos) << *cache;
  EXPECT_NE(cache->find("max-age=31536000"), std::string::npos) << *cache;
}

TEST(ConsoleHttp, EveryEmbeddedAssetIsServedUnderTheBuildWithItsType) {
  for (const auto& a : console_assets()) {
    if (a.path == "index.html") continue;

    auto f = console_file("/console/" + build() + "/" + std::string(a.path), "");

    EXPECT_EQ(f.status, 200) << a.path;
    EXPECT_EQ(f.content_type, a.content_type) << a.path;
    EXPECT_EQ(f.body, a.body) << a.path;
  }
}

// What the page loads must be there: each /console/ URL in it is answered 200.
TEST(ConsoleHttp, EveryUrlThePageNamesIsServed) {
  const std::string page = console_file("/console/", "").body;
  const std::regex url(R"re((?:src|href)\s*=\s*["'](/console/[^"']*)["'])re");

  std::size_t urls = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), url); it != std::sregex_iterator();
       ++it) {
    const std::string path = (*it)[1];
    ++urls;

    EXPECT_EQ(console_file(path, "").status, 200) << path;
  }
  EXPECT_GT(urls, 0u);
}

// `relative` ("./lib/api.js", "../lib/dom.js") from the asset at `from` ("views/audit.js").
std::string resolve(std::string_view from, std::string_view relative) {
  std::vector<std::string> parts;
  const auto slash = from.rfind('/');
  std::string path = slash == std::string_view::npos ? "" : std::string(from.substr(0, slash + 1));
  path += relative;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// A module a script imports is served beside it: a missing one would stop the console.
TEST(ConsoleHttp, EveryModuleAScriptImportsIsServed) {
  const std::regex import(R"re((?:from|import)\s*\(?\s*["'](\.\.?/[^"']+)["'])re");
  for (const auto& a : console_assets()) {
    if (!ends_with(a.path, ".js")) continue;
    const std::string body(a.body);

    for (auto it = std::sregex_iterator(body.begin(), body.end(), import);
         it != std::sregex_iterator(); ++it) {
      const std::string path = "/console/" + build() + "/" + resolve(a.path, (*it)[1].str());

      EXPECT_EQ(console_file(path, "").status, 200) << a.path << " imports " << (*it)[1];
    }
  }
}

TEST(ConsoleHttp, NothingElseIsServed) {
  const std::vector<std::string> paths = {
      "/console/" + stale_build() + "/app.js",
      "/console/" + build() + "/../index.html",
      "/console/" + build() + "/index.html",
      "/console/" + build() + "/missing.js",
      "/console/" + build() + "/",
      "/console/" + build(),
      "/console/app.js",
      "/consolex",
      "/console/../etc/passwd",
      "/etc/passwd",
      "/",
  };
  for (const auto& path : paths) {
    auto f = console_file(path, "");

    EXPECT_EQ(f.status, 404) << path;
    EXPECT_EQ(f.body.find("<script"), std::string::npos) << path;
  }
}

// The browser enforces it on every answer, whatever its status.
TEST(ConsoleHttp, EveryAnswerCarriesTheContentSecurityPolicy) {
  const std::vector<ConsoleFile> answers = {
      console_file("/console", ""),
      console_file("/console/", ""),
      console_file("/console/", etag()),
      console_file("/console/" + build() + "/app.js", ""),
      console_file("/console/" + stale_build() + "/app.js", ""),
      console_file("/console/" + build() + "/../index.html", ""),
  };
  const std::vector<int> statuses = {301, 200, 304, 200, 404, 404};
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const auto& f = answers[i];

    EXPECT_EQ(f.status, statuses[i]) << i;
    EXPECT_EQ(header(f, "Content-Security-Policy"), std::string(kConsoleCsp)) << i;
    EXPECT_EQ(header(f, "X-Content-Type-Options"), "nosniff") << i;
  }
}

TEST(ConsoleHttp, ThePolicyAllowsOnlyTheGatewaysOwnScriptsAndStyles) {
  const std::string csp(kConsoleCsp);

  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("style-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
}

// What looks like a start tag in a script's strings: "<" and a letter, up to the next ">" (at
// most 2000 characters on). Scanned by hand: std::regex recurses per character matched.
std::vector<std::string> markup_tags(std::string_view script) {
  std::vector<std::string> out;
  for (auto at = script.find('<'); at != std::string_view::npos; at = script.find('<', at + 1)) {
    if (at + 1 >= script.size() || !std::isalpha(static_cast<unsigned char>(script[at + 1]))) {
      continue;
    }
    const auto end = script.find_first_of("<>", at + 1);
    if (end == std::string_view::npos || script[end] != '>' || end - at > 2000) continue;
    out.emplace_back(script.substr(at, end - at + 1));
  }
  return out;
}

// The policy blocks inline handlers (onclick="..."): in a page, in the markup a script writes,
// and set with setAttribute.
TEST(ConsoleAssets, HoldNoInlineEventHandler) {
  const std::regex attribute(R"(\son[a-z]+\s*=\s*["'])", std::regex::icase);
  const std::regex set_attribute(R"(setAttribute\(\s*["'`]on[a-z]+)", std::regex::icase);
  const std::regex style_attribute(R"(\sstyle\s*=)", std::regex::icase);
  std::size_t checked = 0;
  for (const auto& a : console_assets()) {
    const std::string body(a.body);
    if (ends_with(a.path, ".html") || ends_with(a.path, ".css")) {
      ++checked;
      std::smatch m;
      EXPECT_FALSE(std::regex_search(body, m, attribute)) << a.path << ": " << m.str();
    } else if (ends_with(a.path, ".js")) {
      ++checked;
      std::smatch m;
      EXPECT_FALSE(std::regex_search(body, m, set_attribute)) << a.path << ": " << m.str();
      for (const auto& tag : markup_tags(body)) {
        EXPECT_FALSE(std::regex_search(tag, attribute)) << a.path << ": " << tag;
        // A style attribute in markup is an inline style: blocked too.
        EXPECT_FALSE(std::regex_search(tag, style_attribute)) << a.path << ": " << tag;
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

// The policy blocks inline scripts and styles: every script has a src, every style is a file.
TEST(ConsoleAssets, ThePagesHoldNoInlineScriptOrStyle) {
  const std::regex script_tag(R"(<script\b[^>]*>)", std::regex::icase);
  const std::regex has_src(R"(\ssrc\s*=)", std::regex::icase);
  const std::regex style_attribute(R"(\sstyle\s*=)", std::regex::icase);
  const std::regex style_element(R"(<style[\s>])", std::regex::icase);
  const std::regex javascript_url(R"(["']\s*javascript:)", std::regex::icase);
  std::size_t pages = 0;
  for (const auto& a : console_assets()) {
    if (!ends_with(a.path, ".html")) continue;
    ++pages;
    const std::string body(a.body);

    for (auto it = std::sregex_iterator(body.begin(), body.end(), script_tag);
         it != std::sregex_iterator(); ++it) {
      EXPECT_TRUE(std::regex_search(it->str(), has_src)) << a.path << ": " << it->str();
    }
    std::smatch m;
    EXPECT_FALSE(std::regex_search(body, m, style_attribute)) << a.path << ": " << m.str();
    EXPECT_FALSE(std::regex_search(body, m, style_element)) << a.path << ": " << m.str();
    EXPECT_FALSE(std::regex_search(body, m, javascript_url)) << a.path << ": " << m.str();
  }
  EXPECT_GT(pages, 0u);
}

}  // namespace
}  // namespace fl::cli
