// Deterministic sampling of fixed-length training windows. The window for (step, row) is a pure function of
// the seed, step and row, so a resumed run sees exactly the batches an uninterrupted one would; the "data
// position" to checkpoint is simply the next step. Windows never straddle shards; any start offset is allowed
// (documents are packed with EOS between them, no intra-document masking, as in OLMo pretraining).
#pragma once
#include <cstdint>
#include <vector>

#include "train/token_shards.h"

namespace hyb {

class WindowSampler {
 public:
  // window = T + 1 tokens (T inputs and their next-token targets). fail()s if no shard holds one window.
  WindowSampler(const TokenSplit& split, int64_t window, uint64_t seed, const char* what);

  // Fills out[B * window] with the rows of batch `index`.
  void batch(int64_t index, int64_t B, int32_t* out) const;
  int64_t window() const { return window_; }

 private:
  const TokenSplit& split_;
  int64_t window_;
  uint64_t seed_;
  std::vector<int64_t> starts_;  // cumulative count of valid start offsets per shard
};

}  // namespace hyb
