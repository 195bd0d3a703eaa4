// Per-sequence decoding state (spec §3): attention layers keep K/V for every past token; GDN layers keep only
// the last K−1 raw conv inputs and the [Hv, dk, dv] recurrent state, whatever the context length.
#pragma once
#include <cstdint>
#include <vector>

#include "io/model_config.h"

namespace hyb {

struct LayerCache {
  LayerKind kind = LayerKind::GDN;
  // Attention: [Hkv][capacity][hd] so each head's keys are contiguous for the attention kernel.
  std::vector<float> k, v;
  int64_t capacity = 0;
  // GDN.
  std::vector<float> conv;   // [K−1, conv_dim]
  std::vector<float> state;  // [Hv, dk, dv]
};

class Cache {
 public:
  explicit Cache(const ModelConfig& cfg);
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
  // Declares positions [0, n) valid without running them: benchmarks that fill K/V themselves, or rewind to
  // repeat a measurement (the GDN states are left as they are). n must fit the reserved capacity.
  void set_n_past(int64_t n);
  size_t bytes() const;                      // memory held now
  static size_t bytes_for(const ModelConfig& cfg, int64_t capacity);  // held at a given K/V capacity
  static size_t bytes_per_token(const ModelConfig& cfg);   // attention K/V growth per token
  static size_t fixed_bytes(const ModelConfig& cfg);       // GDN conv + recurrent state, independent of length

  std::vector<LayerCache> layers;

 private:
  friend class Model;
  const ModelConfig* cfg_;
  int64_t n_past_ = 0;
};

}  // namespace hyb
