#include "model/model.h"

#include <cmath>

#include "core/error.h"
#include "kernels/activations.h"
#include "kernels/attention.h"
#include "kernels/gdn.h"
#include "kernels/norms.h"
#include "kernels/rope.h"
#include "kernels/short_conv.h"

namespace hyb {

namespace {
constexpr float kGatedNormEps = 1e-5f;  // hard-coded in HF, not rms_norm_eps (spec §8.3)
constexpr float kL2NormEps = 1e-6f;

float* sized(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}
}  // namespace

Model::Model(Weights w) : w_(std::move(w)) {}

void Model::mlp(const LayerWeights& L, const float* in, float* out, int64_t T, float beta) {
  const int64_t I = config().intermediate_size;
  float* gate = sized(buf_mlp_, size_t(T * I));
  float* up = sized(buf_mlp2_, size_t(T * I));
  const LinearOut gu[] = {{&L.gate, gate, I}, {&L.up, up, I}};
  linear_multi(in, T, L.gate.cols, gu, 2);
  swiglu_inplace(gate, up, T * I);
  linear(gate, T, I, L.down, out, L.down.rows, beta);
}

void Model::gdn_layer(const LayerWeights& L, LayerCache& lc, float* x, int64_t T) {
  const ModelConfig& c = config();
  const int64_t D = c.hidden_size, Hv = c.linear_num_value_heads, Hk = c.linear_num_key_heads;
  const int64_t dk = c.linear_key_head_dim, dv = c.linear_value_head_dim, kd = c.key_dim(), vd = c.value_dim();
  const int64_t C = c.conv_dim(), K = c.linear_conv_kernel_dim;
  const GdnWeights& G = L.gdn;

  float* u = sized(buf_u_, size_t(T * D));
  rmsnorm(x, L.input_norm, u, T, D, float(c.rms_norm_eps));

  // q | k | v projections side by side, then the short conv over all C channels.
  // Every projection of u in one call (one parallel region when decoding).
  float* qkv = sized(buf_qkv_, size_t(T * C));
  float* ab = sized(buf_ab_, size_t(2 * T * Hv));
  float* beta = ab;
  float* g = ab + T * Hv;
  float* z = sized(buf_z_, size_t(T * vd));
  const LinearOut proj[] = {{&G.q, qkv, C},   {&G.k, qkv + kd, C}, {&G.v, qkv + 2 * kd, C},
                            {&G.b, beta, Hv}, {&G.a, g, Hv},       {&G.g, z, vd}};
  linear_multi(u, T, D, proj, 6);
  float* cv = sized(buf_conv_, size_t(T * C));
  short_conv_silu(qkv, T, C, lc.conv.data(), G.conv, K, cv);

  gdn_gates(beta, g, T, Hv, G.A_log, G.dt_bias, c.linear_allow_neg_eigval);

  // l2-normalise every q and k head; q also carries the dk^-1/2 scale.
  l2norm_scale(cv, T, Hk, dk, C, kL2NormEps, float(1.0 / std::sqrt(double(dk))));
  l2norm_scale(cv + kd, T, Hk, dk, C, kL2NormEps, 1.f);

  float* o = sized(buf_o_, size_t(T * vd));
  GdnArgs<float> args{cv, C, cv + kd, C, cv + 2 * kd, C, beta, g, lc.state.data(), o, vd, T, Hk, Hv, dk, dv};
  if (T == 1) gdn_recurrent(args);  // the decode path HF uses; chunked otherwise
  else gdn_chunk_forward(args, 64);

  gated_rmsnorm(o, z, G.o_norm, o, T * Hv, dv, kGatedNormEps);
  linear(o, T, vd, G.o, x, D, 1.f);  // residual added by the GEMM itself

  rmsnorm(x, L.post_attn_norm, u, T, D, float(c.rms_norm_eps));
  mlp(L, u, x, T, 1.f);
}

void Model::attn_layer(const LayerWeights& L, LayerCache& lc, float* x, int64_t T, int64_t past) {
  const ModelConfig& c = config();
  const int64_t D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, hd = c.head_dim;
  const int64_t qd = c.q_dim(), kvd = c.kv_dim();
  const float eps = float(c.rms_norm_eps);
  const AttnWeights& A = L.attn;

  float* qkv = sized(buf_qkv_, size_t(T * (qd + 2 * kvd)));
  float* q = qkv;
  float* k = qkv + T * qd;
  float* v = k + T * kvd;
  const LinearOut proj[] = {{&A.q, q, qd}, {&A.k, k, kvd}, {&A.v, v, kvd}};
  linear_multi(x, T, D, proj, 3);
  rmsnorm(q, A.q_norm, q, T, qd, eps);  // QK-norm over the whole projection, before the head split
  rmsnorm(k, A.k_norm, k, T, kvd, eps);
  if (c.rope_theta) {
    rope_apply(q, T, H, hd, qd, past, *c.rope_theta);
    rope_apply(k, T, Hkv, hd, kvd, past, *c.rope_theta);
  }
  for (int64_t h = 0; h < Hkv; ++h)
    for (int64_t t = 0; t < T; ++t) {
      std::copy_n(k + t * kvd + h * hd, hd, lc.k.begin() + (h * lc.capacity + past + t) * hd);
      std::copy_n(v + t * kvd + h * hd, hd, lc.v.begin() + (h * lc.capacity + past + t) * hd);
    }
  float* att = sized(buf_o_, size_t(T * qd));
  AttentionArgs args{q, qd, lc.k.data(), lc.v.data(), lc.capacity * hd, att, qd, T, H, Hkv, hd, past,
                     float(1.0 / std::sqrt(double(hd)))};
  attention_causal(args);

  float* tmp = sized(buf_tmp_, size_t(T * D));
  linear(att, T, A.o, tmp);
  rmsnorm(tmp, L.post_attn_norm, tmp, T, D, eps);
  for (int64_t i = 0; i < T * D; ++i) x[i] += tmp[i];
  mlp(L, x, tmp, T);
  rmsnorm(tmp, L.post_ff_norm, tmp, T, D, eps);
  for (int64_t i = 0; i < T * D; ++i) x[i] += tmp[i];
}

void Model::forward_hidden(const int32_t* ids, int64_t T, Cache& cache, std::vector<float>& x) {
  const ModelConfig& c = config();
  const int64_t D = c.hidden_size, past = cache.n_past_;
  HYB_ASSERT(T > 0 && cache.layers.size() == w_.layers.size());
  x.resize(size_t(T * D));
  for (int64_t t = 0; t < T; ++t) weight_row_f32(w_.embed, ids[t], x.data() + t * D);
  cache.reserve(past + T);
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    const LayerWeights& L = w_.layers[l];
    if (L.kind == LayerKind::GDN) gdn_layer(L, cache.layers[l], x.data(), T);
    else attn_layer(L, cache.layers[l], x.data(), T, past);
  }
  cache.n_past_ = past + T;
  rmsnorm(x.data(), w_.final_norm, x.data(), T, D, float(c.rms_norm_eps));
}

void Model::forward(const int32_t* ids, int64_t T, Cache& cache, float* logits, bool last_only) {
  std::vector<float> h;
  forward_hidden(ids, T, cache, h);
  const int64_t D = config().hidden_size;
  if (last_only) linear(h.data() + (T - 1) * D, 1, w_.lm_head, logits);
  else linear(h.data(), T, w_.lm_head, logits);
}

}  // namespace hyb
