// Owning pointers for C library handles. One line per handle type, and the free function is part
// of the type, so a handle cannot be freed twice, freed with the wrong function, or leaked on an
// early return. Aliases live in the module that owns the C library, never in a public header.
#pragma once

#include <memory>

namespace fl {

template <auto FreeFn>
struct CallFree {
  template <typename T>
  void operator()(T* handle) const noexcept {
    FreeFn(handle);
  }
};

template <typename T, auto FreeFn>
using CHandle = std::unique_ptr<T, CallFree<FreeFn>>;

}  // namespace fl
