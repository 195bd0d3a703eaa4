#include "core/huge_pages.h"

#include <sys/mman.h>

namespace hyb {

std::unique_ptr<uint8_t[]> alloc_huge(size_t n) {
  // new[] of a large size is a fresh anonymous mapping (glibc malloc above its mmap threshold), untouched until
  // written, so the advice applies to every page we later fault in. Failure of madvise only costs speed.
  std::unique_ptr<uint8_t[]> p(new uint8_t[n]);
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t b = (uintptr_t(p.get()) + kHuge - 1) & ~(kHuge - 1), e = (uintptr_t(p.get()) + n) & ~(kHuge - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
  return p;
}

}  // namespace hyb
