// The host's read bandwidth, measured in the same run as a decode benchmark: decode of a large model is a
// stream of weight reads, so its GB/s means little without the GB/s a plain read of memory reaches right now
// (this machine class has shown 33-67 GB/s, varying between hosts and from minute to minute).
#pragma once
#include <cstddef>

namespace hyb {

struct ReadBandwidth {
  double best_gb_per_s = 0;    // the fastest pass
  double median_gb_per_s = 0;
  size_t bytes = 0;            // buffer size read per pass
};

// A buffer of `bytes` (much larger than the caches), filled once; measure() reads it `passes` times with the
// current OpenMP team, each thread summing its contiguous share with 512-bit loads where available. One probe can
// be measured many times (between a benchmark's repetitions) without paying for the allocation again.
class ReadProbe {
 public:
  explicit ReadProbe(size_t bytes);
  ~ReadProbe();
  ReadProbe(const ReadProbe&) = delete;
  ReadProbe& operator=(const ReadProbe&) = delete;
  ReadBandwidth measure(int passes = 5);

 private:
  float* buf_ = nullptr;
  size_t n_ = 0;  // floats
};

}  // namespace hyb
