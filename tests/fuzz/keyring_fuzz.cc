// The keyring loader (make_keyring_key_provider) on an arbitrary keyring file. The loader reads
// only from a path, with its permission checks, so the input is written to a file of mode 0600
// in a private temporary folder first. A keyring that loads must keep the header's promises:
// every region with a non-retired key has an active KEK that wraps and unwraps, retired keys are
// never active, and the pepper is there. Seeds: corpus/keyring (config/keys/dev-keyring.json is
// copied in at run time by scripts/fuzz).
#include "fl/adapters/keys/keyring_key_provider.h"

#include "fuzz_support.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string& keyring_path() {
  static const std::string path = [] {
    std::string pattern = (fs::temp_directory_path() / "fl-keyring-fuzz-XXXXXX").string();
    FL_FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    static const std::string dir = pattern;
    std::atexit([] {
      std::error_code ignored;  // best effort: a leftover temp folder is harmless
      fs::remove_all(dir, ignored);
    });
    return dir + "/keyring.json";
  }();
  return path;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FL_FUZZ_CHECK(fd >= 0);
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    FL_FUZZ_CHECK(n > 0);
    done += static_cast<std::size_t>(n);
  }
  FL_FUZZ_CHECK(::close(fd) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = keyring_path();
  write_file(path, data, size);

  auto provider = fl::keys::make_keyring_key_provider(path);
  if (!provider) {
    FL_FUZZ_CHECK(provider.error().code == fl::ErrorCode::kInvalidInput);
    return 0;
  }
  fl::ports::KeyProvider& keys = **provider;
  FL_FUZZ_CHECK(keys.pseudonym_pepper().has_value());
  const fl::SecretBytes master(std::vector<std::uint8_t>(32, 0x5a));
  const std::vector<std::uint8_t> aad{'p', '1'};
  for (const auto& kek : keys.keks()) {
    if (kek.retired) {
      FL_FUZZ_CHECK(!kek.active);
      continue;
    }
    auto active = keys.active_kek_id(kek.region);
    FL_FUZZ_CHECK(active.has_value());
    if (kek.active) FL_FUZZ_CHECK(*active == kek.id);
    auto wrapped = keys.wrap(kek.region, aad, master);
    FL_FUZZ_CHECK(wrapped.has_value() && wrapped->kek_id == *active);
    auto unwrapped = keys.unwrap(kek.region, *wrapped, aad);
    FL_FUZZ_CHECK(unwrapped.has_value() && std::ranges::equal(unwrapped->view(), master.view()));
  }
  return 0;
}
