#include "bench/cache_fill.h"

#include <algorithm>
#include <random>

#include "core/dtype.h"

namespace hyb {

namespace {

// Uniform in [-scale, scale); a cheap generator since a 64k cache holds billions of values.
inline void store(float* x, size_t i, float v) { x[i] = v; }
inline void store(uint16_t* x, size_t i, float v) { x[i] = f32_to_bf16(v); }

template <class T>
void fill_uniform(T* x, size_t n, float scale, uint64_t seed) {
#pragma omp parallel
  {
    std::mt19937_64 rng(seed);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < int64_t((n + 65535) / 65536); ++b) {
      rng.seed(seed ^ (uint64_t(b) * 0x9e3779b97f4a7c15ull));
      const size_t end = std::min(n, size_t(b + 1) * 65536);
      for (size_t i = size_t(b) * 65536; i < end; ++i)
        store(x, i, scale * (float(rng() >> 40) * 0x1.0p-23f - 1.0f));
    }
  }
}

}  // namespace

void fill_cache_random(Cache& cache, const ModelConfig& cfg, int64_t n, int64_t extra, uint64_t seed) {
  cache.reset();
  cache.reserve(n + extra);
  const int64_t hd = cfg.head_dim, Hkv = cfg.num_key_value_heads;
  uint64_t s = seed;
  for (auto& lc : cache.layers) {
    if (lc.kind == LayerKind::Attention) {
      // Keys after their RMSNorm are O(1) per element; values too.
      for (int64_t h = 0; h < Hkv; ++h) {
        const int64_t at = h * lc.capacity * hd;
        if (lc.kv == KvDtype::BF16) {
          fill_uniform(lc.kb.data() + at, size_t(n * hd), 1.0f, ++s);
          fill_uniform(lc.vb.data() + at, size_t(n * hd), 1.0f, ++s);
        } else {
          fill_uniform(lc.k.data() + at, size_t(n * hd), 1.0f, ++s);
          fill_uniform(lc.v.data() + at, size_t(n * hd), 1.0f, ++s);
        }
      }
    } else {
      fill_uniform(lc.state.data(), lc.state.size(), 0.05f, ++s);
      fill_uniform(lc.conv.data(), lc.conv.size(), 1.0f, ++s);
    }
  }
  cache.set_n_past(n);
}

double cache_bytes_for(const ModelConfig& cfg, int64_t tokens, KvDtype kv) {
  return double(Cache::bytes_per_token(cfg, kv)) * double(tokens) + double(Cache::fixed_bytes(cfg));
}

}  // namespace hyb
