#include "core/huge_pages.h"

#include <algorithm>
#include <new>

#include <sys/mman.h>

namespace hyb {

HugeBuffer alloc_huge(size_t n) {
  constexpr size_t kHuge = size_t(2) << 20, kLine = 64;
  const bool huge = n >= kHuge / 2;
  const size_t align = huge ? kHuge : kLine;
  const size_t bytes = std::max<size_t>((n + align - 1) / align * align, align);
  HugeBuffer p(static_cast<uint8_t*>(std::aligned_alloc(align, bytes)));
  if (!p) throw std::bad_alloc();
  // Failure of madvise only costs speed. At most one 2 MiB page per buffer is partly unused.
  if (huge) madvise(p.get(), bytes, MADV_HUGEPAGE);
  return p;
}

}  // namespace hyb
