// A generation session: one sequence, its cache, prefill in bounded chunks and single-token steps.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.h"

namespace hyb {

class Session {
 public:
  explicit Session(Model& m, int64_t prefill_chunk = 512);

  // Feeds tokens (in chunks, so activations stay bounded for long prompts); returns last-token logits.
  const std::vector<float>& prefill(const std::vector<int32_t>& ids);
  const std::vector<float>& step(int32_t id);
  const std::vector<float>& logits() const { return logits_; }
  int64_t n_past() const { return cache_.n_past(); }
  Cache& cache() { return cache_; }
  void reset() { cache_.reset(); }

 private:
  Model& m_;
  Cache cache_;
  int64_t chunk_;
  std::vector<float> logits_;
};

}  // namespace hyb
