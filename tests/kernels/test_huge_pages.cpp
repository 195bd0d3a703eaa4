#include <gtest/gtest.h>

#include <cstring>

#include "core/huge_pages.h"

namespace hyb {
namespace {

// Weight buffers from 1 MiB up start on a 2 MiB boundary (so every page of them can be a huge page); smaller
// ones on a cache line. All of them are writable over their whole length.
TEST(HugePages, AlignmentBySize) {
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  for (size_t n : {size_t(1), size_t(4096), size_t(1) << 19, (size_t(1) << 20) - 1, size_t(1) << 20,
                   (size_t(2) << 20) + 16, size_t(5767168)}) {
    HugeBuffer b = alloc_huge(n);
    ASSERT_NE(b.get(), nullptr);
    const uintptr_t a = reinterpret_cast<uintptr_t>(b.get());
    EXPECT_EQ(a % 64, 0u) << n;
    if (n >= kHuge / 2) {
      EXPECT_EQ(a % kHuge, 0u) << n;
    }
    std::memset(b.get(), 0x5a, n);
    EXPECT_EQ(b[n - 1], 0x5a);
  }
  EXPECT_NE(alloc_huge(0).get(), nullptr);
}

}  // namespace
}  // namespace hyb
