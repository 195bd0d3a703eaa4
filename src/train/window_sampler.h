// Deterministic sampling of fixed-length training windows. The window for (step, row) is a pure function of
// the seed, step and row, so a resumed run sees exactly the batches an uninterrupted one would; the "data
// position" to checkpoint is simply the next step. Windows never straddle shards; any start offset is allowed
// (documents are packed with EOS between them, no intra-document masking, as in OLMo pretraining). Record data
// (synthetic tasks) is the exception: a window is exactly one whole record, chosen at random.
#pragma once
#include <cstdint>
#include <vector>

#include "train/token_shards.h"

namespace hyb {

class WindowSampler {
 public:
  // window = T + 1 tokens (T inputs and their next-token targets). fail()s if no shard holds one window.
  WindowSampler(const TokenSplit& split, int64_t window, uint64_t seed, const char* what);

  // Fills out[B * window] with the rows of batch `index`, and labels[B * window] too when non-null (the split
  // must then have labels).
  void batch(int64_t index, int64_t B, int32_t* out, int32_t* labels = nullptr) const;
  int64_t window() const { return window_; }

 private:
  const TokenSplit& split_;
  int64_t window_;
  uint64_t seed_;
  int64_t step_ = 1;             // distance between valid starts: 1, or the record length
  std::vector<int64_t> starts_;  // cumulative count of valid start offsets per shard
};

}  // namespace hyb
