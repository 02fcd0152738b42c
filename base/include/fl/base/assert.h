// FL_ASSERT: for invariants whose failure is a bug, never for bad input or a service that is
// down (those are Results). It logs file:line and the reason, then aborts; restarting is safe
// because offsets are committed only after the ledger confirms.
#pragma once

namespace fl::detail {
[[noreturn]] void assert_failed(const char* condition, const char* why, const char* file, int line);
}  // namespace fl::detail

#define FL_ASSERT(cond, why)                                                  \
  do {                                                                        \
    if (!(cond)) ::fl::detail::assert_failed(#cond, why, __FILE__, __LINE__); \
  } while (false)
