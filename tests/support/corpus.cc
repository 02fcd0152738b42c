#include "support/corpus.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fl::testing {
namespace fs = std::filesystem;

fs::path source_root() { return fs::path(FL_SOURCE_DIR); }

fs::path corpora_root() {
  // The copies the repository keeps (tests/data/corpora) make a clean clone self-sufficient.
  if (const fs::path vendored = source_root() / "tests" / "data" / "corpora";
      fs::is_directory(vendored)) {
    return vendored;
  }
  if (const char* env = std::getenv("FL_CORPORA"); env != nullptr && fs::is_directory(env)) {
    return env;
  }
  for (fs::path dir = source_root(); !dir.empty(); dir = dir.parent_path()) {
    const fs::path candidate = dir / "shared" / "corpora";
    if (fs::is_directory(candidate)) return candidate;
    if (dir == dir.parent_path()) break;
  }
  std::fprintf(stderr,
               "corpora not found: set FL_CORPORA or place shared/corpora beside the checkout "
               "(searched upward from %s)\n",
               FL_SOURCE_DIR);
  std::abort();
}

fs::path corpus_path(const std::string& relative) {
  const fs::path path = corpora_root() / relative;
  if (!fs::exists(path)) {
    std::fprintf(stderr, "corpus file missing: %s\n", path.c_str());
    std::abort();
  }
  return path;
}

std::optional<fs::path> find_corpus_file(const std::string& relative) {
  std::vector<fs::path> roots = {source_root() / "tests" / "data" / "corpora"};
  if (const char* env = std::getenv("FL_CORPORA"); env != nullptr) roots.emplace_back(env);
  for (fs::path dir = source_root(); dir != dir.parent_path(); dir = dir.parent_path()) {
    roots.push_back(dir / "shared" / "corpora");
  }
  for (const fs::path& root : roots) {
    if (fs::exists(root / relative)) return root / relative;
  }
  return std::nullopt;
}

std::optional<fs::path> full_corpus_dir(const std::string& name) {
  if (const char* env = std::getenv("FL_CORPORA"); env != nullptr) {
    if (fs::is_directory(fs::path(env) / name)) return fs::path(env) / name;
    return std::nullopt;  // a folder named on purpose is not second-guessed
  }
  for (fs::path dir = source_root(); dir != dir.parent_path(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / "shared" / "corpora" / name))
      return dir / "shared" / "corpora" / name;
  }
  return std::nullopt;
}

std::vector<std::uint8_t> decimal_to_big_endian(std::string_view digits) {
  std::vector<std::uint8_t> be;
  for (char d : digits) {
    int carry = d - '0';  // be = be * 10 + d, byte by byte from the least significant
    for (auto it = be.rbegin(); it != be.rend(); ++it) {
      const int v = *it * 10 + carry;
      *it = static_cast<std::uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry > 0) {
      be.insert(be.begin(), static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  return be;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace fl::testing
