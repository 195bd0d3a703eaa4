#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <vector>

#include "core/parallel.h"

namespace hyb {
namespace {

// Serial when asked, a real team otherwise; and called from inside another team's region (as the per-sequence
// recurrences of batched decode do) the serial path sees itself as thread 0 of 1 and finishes (a body that used
// `omp for` would bind to the outer team and wait at its barrier forever).
TEST(Parallel, RegionSerialParallelAndNested) {
  std::atomic<int> calls{0};
  parallel_region(false, [&](int t, int nt) {
    EXPECT_EQ(t, 0);
    EXPECT_EQ(nt, 1);
    ++calls;
  });
  EXPECT_EQ(calls.load(), 1);
  calls = 0;
  int team = 0;
  parallel_region(true, [&](int t, int nt) {
    EXPECT_LT(t, nt);
    if (t == 0) team = nt;
    ++calls;
  });
  EXPECT_EQ(calls.load(), team);
  std::vector<int> seen(4, 0);
#pragma omp parallel for num_threads(2)
  for (int s = 0; s < 4; ++s)
    parallel_region(false, [&](int t, int nt) { seen[size_t(s)] = 10 * t + nt; });
  EXPECT_EQ(seen, (std::vector<int>{1, 1, 1, 1}));
}

TEST(Parallel, ForCoversEveryIndexOnce) {
  for (bool par : {false, true}) {
    std::vector<int> hits(1000, 0);
    parallel_for(1000, par, [&](int64_t i) { ++hits[size_t(i)]; });
    for (int h : hits) ASSERT_EQ(h, 1);
  }
}

}  // namespace
}  // namespace hyb
