#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "kernels/work_steal.h"

namespace hyb {
namespace {

// Every chunk is handed out exactly once, whatever the team: as many threads as shares, fewer (the missing
// threads' shares must be stolen), one, and chunk counts smaller than the team or zero.
TEST(StealQueue, EveryChunkExactlyOnce) {
  for (int shares : {1, 2, 3, 8})
    for (int team : {1, 2, 4})
      for (int64_t n : {int64_t(0), int64_t(1), int64_t(5), int64_t(1000)}) {
        StealQueue q(n, shares);
        std::vector<int> seen(size_t(n) + 1, 0);
#pragma omp parallel num_threads(team)
        {
          // A thread whose number has no share (team > shares) only steals.
          const int t = omp_get_thread_num();
          for (int64_t c; (c = q.next(t)) >= 0;) {
            if (c >= n) c = 0;  // out of range: counted twice on chunk 0, which the check below reports
#pragma omp atomic
            ++seen[size_t(c)];
          }
        }
        for (int64_t c = 0; c < n; ++c) EXPECT_EQ(seen[size_t(c)], 1) << "shares " << shares << " team " << team << " n " << n << " chunk " << c;
      }
}

// A lone thread walks its own share front to back, then the others' from their backs.
TEST(StealQueue, OwnShareInOrderThenSteals) {
  StealQueue q(8, 2);
  std::vector<int64_t> order;
  for (int64_t c; (c = q.next(0)) >= 0;) order.push_back(c);
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 7, 6, 5, 4}));
}

}  // namespace
}  // namespace hyb
