#include "bench/train_flops.h"

#include "model/weights.h"

namespace hyb {

TrainFlops train_flops_per_token(const ModelConfig& c, int64_t T) {
  TrainFlops f;
  for (const auto& p : canonical_params(c))
    if (p.matrix && p.name != "model.embed_tokens.weight") f.params += 6.0 * double(p.numel());
  if (c.tie_word_embeddings) f.params += 6.0 * double(c.vocab_size * c.hidden_size);
  // Causal attention: a query at position t does q·k and p·v over t+1 keys, 4·hd·(t+1) per head; the mean
  // over a sequence is 2·q_dim·(T+1) forward, three times that with the backward.
  const double attn = 3.0 * 2.0 * double(c.q_dim()) * double(T + 1);
  // Gated delta rule per value head and token: decay (dk·dv), then Sᵀk, the rank-1 update and Sᵀq (2·dk·dv each).
  const double gdn = 3.0 * 7.0 * double(c.linear_num_value_heads * c.linear_key_head_dim * c.linear_value_head_dim);
  f.mixing = double(c.count(LayerKind::Attention)) * attn + double(c.count(LayerKind::GDN)) * gdn;
  return f;
}

}  // namespace hyb
