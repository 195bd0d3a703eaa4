// The OLMo Hybrid forward pass over one sequence. Prefill, multi-token continuation and single-token decode are
// the same call: T new tokens on top of whatever `cache` already holds (decode is T = 1).
#pragma once
#include <cstdint>
#include <vector>

#include "model/cache.h"
#include "model/weights.h"

namespace hyb {

class Model {
 public:
  explicit Model(Weights w);

  const ModelConfig& config() const { return w_.config(); }
  const Weights& weights() const { return w_; }
  Cache new_cache() const { return Cache(w_.config()); }

  // Runs ids[0..T) after cache.n_past() earlier tokens. logits: [T, vocab] or, with last_only, [vocab] for the
  // final token. Every id must already be checked against the vocabulary.
  void forward(const int32_t* ids, int64_t T, Cache& cache, float* logits, bool last_only = false);

  // Hidden state after the final norm for each of the T tokens ([T, hidden]); used by forward and tests.
  void forward_hidden(const int32_t* ids, int64_t T, Cache& cache, std::vector<float>& hidden);

 private:
  void gdn_layer(const LayerWeights& L, LayerCache& lc, float* x, int64_t T);
  void attn_layer(const LayerWeights& L, LayerCache& lc, float* x, int64_t T, int64_t past);
  // out = (beta · out) + MLP(in); beta 1 adds the MLP into the residual stream.
  void mlp(const LayerWeights& L, const float* in, float* out, int64_t T, float beta = 0.f);

  Weights w_;
  // Scratch reused across calls (a Model is used by one thread of control at a time).
  std::vector<float> buf_u_, buf_qkv_, buf_conv_, buf_ab_, buf_z_, buf_o_, buf_mlp_, buf_mlp2_, buf_tmp_;
};

}  // namespace hyb
