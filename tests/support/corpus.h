// Finds third-party test data: the copies in tests/data/corpora (with their licence notes),
// else FL_CORPORA, else shared/corpora beside the checkout or above it. A missing file fails the
// test loudly: a known-answer test that silently skips is a test that can no longer fail.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::testing {

// The corpora root; aborts the test binary with a clear message when it cannot be found.
std::filesystem::path corpora_root();

// corpora_root() / relative, asserted to exist.
std::filesystem::path corpus_path(const std::string& relative);

// For corpus files the repository may not copy (e.g. GPL-licensed data): the file in the first
// corpora folder that has it (tests/data/corpora, FL_CORPORA, shared/corpora), or nullopt. A test
// that uses it must GTEST_SKIP with the reason when it is absent, so the skip is reported.
std::optional<std::filesystem::path> find_corpus_file(const std::string& relative);

// A corpus folder as shipped, for benchmarks that want all of it: FL_CORPORA/<name> when
// FL_CORPORA is set, else shared/corpora/<name> beside the checkout or above it; never the
// repository's copy in tests/data/corpora, which keeps only a part of some corpora.
std::optional<std::filesystem::path> full_corpus_dir(const std::string& name);

std::string read_file(const std::filesystem::path& path);

// The repository's source tree (for config/ and tests/data/).
std::filesystem::path source_root();

// A decimal number of any size as minimal big-endian bytes (corpora write uint256 in decimal).
std::vector<std::uint8_t> decimal_to_big_endian(std::string_view digits);

}  // namespace fl::testing
