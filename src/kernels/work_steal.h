// Chunks of one parallel loop shared by the team with work stealing. Memory-bound loops (decode's matrix-vector
// products) are cut into one contiguous share per thread, so each thread streams its weights front to back; a
// thread that is done takes chunks from the back of the share with the most left. A static split leaves the
// faster thread waiting at the barrier: on 2 threads one of them streamed ~10% slower, which cost ~5% of decode.
// Which thread computes a chunk never changes its numbers.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

namespace hyb {

class StealQueue {
 public:
  // Chunks [0, n) for a team of nt threads.
  StealQueue(int64_t n, int nt);
  // The next chunk for thread t (its own share first, if t < nt), or -1 when every chunk is taken.
  int64_t next(int t);

 private:
  struct alignas(64) Share {
    std::atomic<uint64_t> range;  // front in the low 32 bits, back (one past the last) in the high 32
  };
  std::unique_ptr<Share[]> shares_;
  int nt_;
};

}  // namespace hyb
