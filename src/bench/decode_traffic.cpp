#include "bench/decode_traffic.h"

#include "kernels/quant_formats.h"

namespace hyb {

DecodeTraffic decode_traffic(const Weights& w, int64_t context, int64_t tokens, KvDtype kv) {
  const ModelConfig& c = w.config();
  DecodeTraffic t;
  // The embedding is a lookup (one row), unless it doubles as lm_head, which reads all of it.
  // Quantized matrices are stored in 16-row groups (padding rows included in bytes()); a lookup reads one row's
  // blocks and scales only.
  t.weights += is_quant_dtype(w.embed.dtype)
                   ? double(quant_group_bytes(w.embed.dtype, w.embed.cols)) / double(kQuantRows)
                   : double(w.embed.bytes()) / double(w.embed.rows);
  t.weights += double(w.lm_head.bytes());
  auto mat = [&](const WeightMat& m) { t.weights += double(m.bytes()); };
  for (const auto& L : w.layers) {
    if (L.kind == LayerKind::GDN) {
      for (const WeightMat* m : {&L.gdn.q, &L.gdn.k, &L.gdn.v, &L.gdn.a, &L.gdn.b, &L.gdn.g, &L.gdn.o}) mat(*m);
    } else {
      for (const WeightMat* m : {&L.attn.q, &L.attn.k, &L.attn.v, &L.attn.o}) mat(*m);
    }
    for (const WeightMat* m : {&L.gate, &L.up, &L.down}) mat(*m);
  }
  for (const auto& p : canonical_params(c))
    if (!p.matrix) t.weights += double(p.numel()) * sizeof(float);

  const double positions = double(context) + double(tokens + 1) / 2.0;
  t.kv = double(Cache::bytes_per_token(c, kv)) * positions;
  const double per_gdn = double(c.linear_num_value_heads * c.linear_key_head_dim * c.linear_value_head_dim +
                                (c.linear_conv_kernel_dim - 1) * c.conv_dim()) * sizeof(float);
  t.recurrent = 2.0 * double(c.count(LayerKind::GDN)) * per_gdn;
  return t;
}

}  // namespace hyb
