#include "model/cache.h"

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace hyb {

Cache::Cache(const ModelConfig& cfg) : cfg_(&cfg) {
  for (auto kind : cfg.layer_types) {
    LayerCache lc;
    lc.kind = kind;
    if (kind == LayerKind::GDN) {
      lc.conv.assign(size_t((cfg.linear_conv_kernel_dim - 1) * cfg.conv_dim()), 0.f);
      lc.state.assign(size_t(cfg.linear_num_value_heads * cfg.linear_key_head_dim * cfg.linear_value_head_dim), 0.f);
    }
    layers.push_back(std::move(lc));
  }
}

void Cache::reset() {
  n_past_ = 0;
  for (auto& lc : layers) {
    std::fill(lc.conv.begin(), lc.conv.end(), 0.f);
    std::fill(lc.state.begin(), lc.state.end(), 0.f);
  }
}

int64_t Cache::capacity() const {
  for (auto& lc : layers)
    if (lc.kind == LayerKind::Attention) return lc.capacity;
  return INT64_MAX;  // no attention layer: any length fits
}

Cache Cache::snapshot() const {
  Cache s(*cfg_);
  s.reserve(n_past_, true);
  s.assign(*this);
  return s;
}

void Cache::assign(const Cache& o) {
  if (o.layers.size() != layers.size()) fail("cache: copy between caches of different models");
  reserve(o.n_past_, capacity() == 0);
  const int64_t Hkv = cfg_->num_key_value_heads, hd = cfg_->head_dim;
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerCache& d = layers[l];
    const LayerCache& s = o.layers[l];
    if (d.kind == LayerKind::Attention) {
      for (int64_t h = 0; h < Hkv; ++h) {
        std::copy_n(s.k.begin() + h * s.capacity * hd, o.n_past_ * hd, d.k.begin() + h * d.capacity * hd);
        std::copy_n(s.v.begin() + h * s.capacity * hd, o.n_past_ * hd, d.v.begin() + h * d.capacity * hd);
      }
    } else {
      d.conv = s.conv;
      d.state = s.state;
    }
  }
  n_past_ = o.n_past_;
}

void Cache::reserve(int64_t tokens, bool exact) {
  const int64_t Hkv = cfg_->num_key_value_heads, hd = cfg_->head_dim;
  for (auto& lc : layers) {
    if (lc.kind != LayerKind::Attention || tokens <= lc.capacity) continue;
    const int64_t cap = exact ? tokens : std::max<int64_t>({tokens, 2 * lc.capacity, 64});
    std::vector<float> nk(size_t(Hkv * cap * hd)), nv(size_t(Hkv * cap * hd));
    for (int64_t h = 0; h < Hkv; ++h) {
      std::copy_n(lc.k.begin() + h * lc.capacity * hd, n_past_ * hd, nk.begin() + h * cap * hd);
      std::copy_n(lc.v.begin() + h * lc.capacity * hd, n_past_ * hd, nv.begin() + h * cap * hd);
    }
    lc.k.swap(nk);
    lc.v.swap(nv);
    lc.capacity = cap;
  }
}

void Cache::set_n_past(int64_t n) {
  if (n < 0) fail("cache: negative n_past ", n);
  for (auto& lc : layers)
    if (lc.kind == LayerKind::Attention && n > lc.capacity)
      fail("cache: n_past ", n, " exceeds the reserved capacity ", lc.capacity);
  n_past_ = n;
}

size_t Cache::bytes() const {
  size_t n = 0;
  for (auto& lc : layers) n += (lc.k.size() + lc.v.size() + lc.conv.size() + lc.state.size()) * sizeof(float);
  return n;
}

size_t Cache::bytes_for(const ModelConfig& c, int64_t capacity) {
  return fixed_bytes(c) + size_t(capacity) * bytes_per_token(c);
}

size_t Cache::bytes_per_token(const ModelConfig& c) {
  return size_t(c.count(LayerKind::Attention)) * 2 * size_t(c.kv_dim()) * sizeof(float);
}

size_t Cache::fixed_bytes(const ModelConfig& c) {
  const size_t per = size_t((c.linear_conv_kernel_dim - 1) * c.conv_dim() +
                            c.linear_num_value_heads * c.linear_key_head_dim * c.linear_value_head_dim);
  return size_t(c.count(LayerKind::GDN)) * per * sizeof(float);
}

}  // namespace hyb
