// Synthetic decoding state: a cache that looks like `n` tokens of context without running them, so long-context
// decode can be measured in seconds instead of the minutes a real prefill of 64k tokens takes.
#pragma once
#include <cstdint>

#include "model/cache.h"

namespace hyb {

// Reserves room for n + extra positions, fills K/V of positions [0, n) and every GDN state / conv state with
// random values of realistic scale (rounded to bf16 for a BF16 KV cache), and sets n_past = n.
void fill_cache_random(Cache& cache, const ModelConfig& cfg, int64_t n, int64_t extra, uint64_t seed);

// Bytes a cache for `tokens` positions holds (K/V of the attention layers + the fixed GDN states).
double cache_bytes_for(const ModelConfig& cfg, int64_t tokens, KvDtype kv = KvDtype::F32);

}  // namespace hyb
