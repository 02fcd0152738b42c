#include "fl/base/assert.h"

#include <cstdio>
#include <cstdlib>

void fl::detail::assert_failed(const char* condition, const char* why, const char* file, int line) {
  std::fprintf(stderr, "FL_ASSERT failed at %s:%d: %s (%s)\n", file, line, condition, why);
  std::fflush(stderr);
  std::abort();
}
