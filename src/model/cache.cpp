#include "model/cache.h"

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace hyb {

const char* kv_dtype_name(KvDtype t) { return t == KvDtype::BF16 ? "bf16" : "f32"; }

KvDtype parse_kv_dtype(const std::string& s) {
  if (s == "f32") return KvDtype::F32;
  if (s == "bf16") return KvDtype::BF16;
  fail("KV cache dtype '", s, "': expected f32 or bf16");
}

size_t kv_dtype_size(KvDtype t) { return t == KvDtype::BF16 ? 2 : 4; }

namespace {
// Copies the first n positions of every kv-head between [Hkv][capacity][hd] buffers of different capacities.
template <class T>
void copy_heads(const std::vector<T>& src, int64_t src_cap, std::vector<T>& dst, int64_t dst_cap, int64_t Hkv,
                int64_t n, int64_t hd) {
  for (int64_t h = 0; h < Hkv; ++h)
    std::copy_n(src.begin() + h * src_cap * hd, n * hd, dst.begin() + h * dst_cap * hd);
}

template <class T>
void grow(std::vector<T>& buf, int64_t cap, int64_t new_cap, int64_t Hkv, int64_t n, int64_t hd) {
  std::vector<T> nb(size_t(Hkv * new_cap * hd));
  copy_heads(buf, cap, nb, new_cap, Hkv, n, hd);
  buf.swap(nb);
}
}  // namespace

Cache::Cache(const ModelConfig& cfg, KvDtype kv) : cfg_(&cfg), kv_(kv) {
  for (auto kind : cfg.layer_types) {
    LayerCache lc;
    lc.kind = kind;
    lc.kv = kv;
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
  Cache s(*cfg_, kv_);
  s.reserve(n_past_, true);
  s.assign(*this);
  return s;
}

void Cache::assign(const Cache& o) {
  if (o.layers.size() != layers.size()) fail("cache: copy between caches of different models");
  if (o.kv_ != kv_) fail("cache: copy from a ", kv_dtype_name(o.kv_), " KV cache into a ", kv_dtype_name(kv_), " one");
  reserve(o.n_past_, capacity() == 0);
  const int64_t Hkv = cfg_->num_key_value_heads, hd = cfg_->head_dim;
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerCache& d = layers[l];
    const LayerCache& s = o.layers[l];
    if (d.kind == LayerKind::Attention) {
      if (kv_ == KvDtype::BF16) {
        copy_heads(s.kb, s.capacity, d.kb, d.capacity, Hkv, o.n_past_, hd);
        copy_heads(s.vb, s.capacity, d.vb, d.capacity, Hkv, o.n_past_, hd);
      } else {
        copy_heads(s.k, s.capacity, d.k, d.capacity, Hkv, o.n_past_, hd);
        copy_heads(s.v, s.capacity, d.v, d.capacity, Hkv, o.n_past_, hd);
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
    if (kv_ == KvDtype::BF16) {
      grow(lc.kb, lc.capacity, cap, Hkv, n_past_, hd);
      grow(lc.vb, lc.capacity, cap, Hkv, n_past_, hd);
    } else {
      grow(lc.k, lc.capacity, cap, Hkv, n_past_, hd);
      grow(lc.v, lc.capacity, cap, Hkv, n_past_, hd);
    }
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
  for (auto& lc : layers)
    n += (lc.k.size() + lc.v.size() + lc.conv.size() + lc.state.size()) * sizeof(float) +
         (lc.kb.size() + lc.vb.size()) * sizeof(uint16_t);
  return n;
}

size_t Cache::bytes_for(const ModelConfig& c, int64_t capacity, KvDtype kv) {
  return fixed_bytes(c) + size_t(capacity) * bytes_per_token(c, kv);
}

size_t Cache::bytes_per_token(const ModelConfig& c, KvDtype kv) {
  return size_t(c.count(LayerKind::Attention)) * 2 * size_t(c.kv_dim()) * kv_dtype_size(kv);
}

size_t Cache::fixed_bytes(const ModelConfig& c) {
  const size_t per = size_t((c.linear_conv_kernel_dim - 1) * c.conv_dim() +
                            c.linear_num_value_heads * c.linear_key_head_dim * c.linear_value_head_dim);
  return size_t(c.count(LayerKind::GDN)) * per * sizeof(float);
}

}  // namespace hyb
