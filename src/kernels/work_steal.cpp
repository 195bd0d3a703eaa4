#include "kernels/work_steal.h"

#include "core/error.h"

namespace hyb {

namespace {
constexpr uint64_t pack(uint64_t front, uint64_t back) { return front | (back << 32); }
constexpr int64_t front_of(uint64_t r) { return int64_t(r & 0xffffffffu); }
constexpr int64_t back_of(uint64_t r) { return int64_t(r >> 32); }
}  // namespace

StealQueue::StealQueue(int64_t n, int nt) : shares_(new Share[size_t(nt > 0 ? nt : 1)]), nt_(nt > 0 ? nt : 1) {
  HYB_ASSERT(n >= 0 && n < (int64_t(1) << 32));
  for (int t = 0; t < nt_; ++t)
    shares_[t].range.store(pack(uint64_t(n * t / nt_), uint64_t(n * (t + 1) / nt_)), std::memory_order_relaxed);
}

int64_t StealQueue::next(int t) {
  // Own share: take the front (a thread numbered past the shares, in a team larger than planned, only steals).
  if (t >= 0 && t < nt_) {
    std::atomic<uint64_t>& own = shares_[t].range;
    uint64_t r = own.load(std::memory_order_relaxed);
    while (front_of(r) < back_of(r))
      if (own.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return front_of(r);
  }
  // Then the back of whichever share has the most left, until none has any.
  for (;;) {
    int victim = -1;
    int64_t most = 0;
    for (int v = 0; v < nt_; ++v) {
      const uint64_t rv = shares_[v].range.load(std::memory_order_relaxed);
      if (back_of(rv) - front_of(rv) > most) most = back_of(rv) - front_of(rv), victim = v;
    }
    if (victim < 0) return -1;
    std::atomic<uint64_t>& s = shares_[victim].range;
    uint64_t rv = s.load(std::memory_order_relaxed);
    while (front_of(rv) < back_of(rv))
      if (s.compare_exchange_weak(rv, pack(uint64_t(front_of(rv)), uint64_t(back_of(rv) - 1)),
                                  std::memory_order_relaxed))
        return back_of(rv) - 1;
  }
}

}  // namespace hyb
