// Next-token sampling: greedy at temperature 0, else temperature → top-k → min-p → top-p (nucleus), seeded.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace hyb {

struct SamplerOptions {
  float temperature = 0.f;
  int top_k = 0;        // 0 = off
  float top_p = 1.f;    // 1 = off
  float min_p = 0.f;    // keep tokens at least min_p × the most likely one's probability (0 = off)
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& o);
  // logits of `n` entries (only the first `n_allowed` may be sampled, e.g. the tokenizer's real vocabulary).
  int32_t sample(const float* logits, int64_t n_allowed);

 private:
  SamplerOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

}  // namespace hyb
