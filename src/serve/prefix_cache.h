// Prefix cache for hybrid models at token granularity. A GDN layer's state cannot be rewound, so instead of
// attention KV blocks this keeps whole-state snapshots (attention K/V + GDN conv and recurrent state) keyed by the
// exact token sequence they hold: the end of every prompt (with its next-token logits) and every generation, and
// every `interval` tokens of long prompts. A request restores the longest snapshot whose tokens are a prefix of its
// prompt and prefills only the rest (nothing, for a repeated prompt). LRU eviction under a byte budget.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "model/cache.h"

namespace hyb::serve {

class PrefixCache {
 public:
  explicit PrefixCache(size_t budget_bytes) : budget_(budget_bytes) {}
  bool enabled() const { return budget_ > 0; }

  struct Match {
    int64_t tokens = 0;        // usable prefix length (0 = miss)
    int64_t common = 0;        // longest prefix shared with any stored sequence (≥ tokens)
    std::vector<float> logits; // next-token logits when the whole prompt matched (then nothing is left to run)
  };
  // Restores the best snapshot for `prompt` into `into` (when it matches) and says how much it covered.
  Match restore(const std::vector<int32_t>& prompt, Cache& into);
  // Keeps a snapshot of `state`, which holds exactly `tokens` (its n_past() of them), with the next-token logits
  // after them when given (vocab entries): a later identical prompt then needs no forward at all.
  void insert(std::span<const int32_t> tokens, const Cache& state, const float* logits = nullptr,
              int64_t vocab = 0);

  size_t bytes() const { return bytes_; }
  size_t entries() const { return lru_.size(); }

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    Cache state;
    std::vector<float> logits;
    size_t bytes() const { return state.bytes() + tokens.size() * sizeof(int32_t) + logits.size() * sizeof(float); }
  };
  void evict_to(size_t budget);
  size_t budget_, bytes_ = 0;
  std::list<Entry> lru_;  // most recently used first
};

}  // namespace hyb::serve
