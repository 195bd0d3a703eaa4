// Per-sequence decoding state (spec §3): attention layers keep K/V for every past token; GDN layers keep only
// the last K−1 raw conv inputs and the [Hv, dk, dv] recurrent state, whatever the context length.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/model_config.h"

namespace hyb {

// How attention K/V are stored. BF16 halves the cache (the 7B at 64k: 8 GB instead of 16) at the cost of rounding
// each key and value to 8 significant bits as it is written; the GDN state, conv tail and all math stay f32.
enum class KvDtype { F32, BF16 };
const char* kv_dtype_name(KvDtype t);  // "f32" | "bf16"
KvDtype parse_kv_dtype(const std::string& s);  // fails naming the value
size_t kv_dtype_size(KvDtype t);

struct LayerCache {
  LayerKind kind = LayerKind::GDN;
  KvDtype kv = KvDtype::F32;
  // Attention: [Hkv][capacity][hd] so each head's keys are contiguous for the attention kernel; in k/v (F32)
  // or kb/vb (BF16 bit patterns), whichever the cache's KvDtype says, the other pair stays empty.
  std::vector<float> k, v;
  std::vector<uint16_t> kb, vb;
  int64_t capacity = 0;
  // GDN.
  std::vector<float> conv;   // [K−1, conv_dim]
  std::vector<float> state;  // [Hv, dk, dv]
};

class Cache {
 public:
  explicit Cache(const ModelConfig& cfg, KvDtype kv = KvDtype::F32);
  void reset();                              // back to an empty sequence
  // Grows attention K/V capacity to hold `tokens` positions (geometrically, or to exactly `tokens` with exact).
  void reserve(int64_t tokens, bool exact = false);
  int64_t capacity() const;                  // positions the K/V buffers hold without growing
  // A compact copy of the whole state after n_past() tokens (K/V trimmed to them, conv and recurrent state):
  // what a prefix cache keeps. Restoring it with assign() continues the sequence exactly.
  Cache snapshot() const;
  // Becomes an exact copy of `other` (a cache of the same model): fork a sequence, restore a snapshot.
  void assign(const Cache& other);
  int64_t n_past() const { return n_past_; }
  KvDtype kv_dtype() const { return kv_; }
  // Declares positions [0, n) valid without running them: benchmarks that fill K/V themselves, or rewind to
  // repeat a measurement (the GDN states are left as they are). n must fit the reserved capacity.
  void set_n_past(int64_t n);
  size_t bytes() const;                      // memory held now
  static size_t bytes_for(const ModelConfig& cfg, int64_t capacity, KvDtype kv = KvDtype::F32);  // at a K/V capacity
  static size_t bytes_per_token(const ModelConfig& cfg, KvDtype kv = KvDtype::F32);  // attention K/V per token
  static size_t fixed_bytes(const ModelConfig& cfg);       // GDN conv + recurrent state, independent of length

  std::vector<LayerCache> layers;

 private:
  friend class Model;
  const ModelConfig* cfg_;
  KvDtype kv_ = KvDtype::F32;
  int64_t n_past_ = 0;
};

}  // namespace hyb
