#include "model/gdn_layer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/phase_profile.h"
#include "kernels/activations.h"
#include "kernels/activations_backward.h"
#include "kernels/gdn.h"
#include "kernels/norms.h"
#include "kernels/norms_backward.h"
#include "kernels/short_conv.h"
#include "kernels/short_conv_backward.h"
#include "model/cache.h"
#include "model/layer_backward.h"
#include "model/mlp_layer.h"
#include "model/param_tensors.h"
#include "model/projection.h"

namespace hyb {

namespace {
constexpr float kGatedNormEps = 1e-5f;  // hard-coded in HF, not rms_norm_eps (spec §8.3)
constexpr float kL2NormEps = 1e-6f;
constexpr int64_t kGdnChunk = 64;       // HF and FLA use 64
}  // namespace

void gdn_layer_forward(const LayerCtx& c, LayerActs& A, float* x) {
  const ModelConfig& cfg = c.cfg;
  const LayerWeights& L = c.L;
  const GdnWeights& W = L.gdn;
  const BatchRows& b = c.batch;
  const int64_t N = b.rows, D = cfg.hidden_size, Hv = cfg.linear_num_value_heads, Hk = cfg.linear_num_key_heads;
  const int64_t dk = cfg.linear_key_head_dim, dv = cfg.linear_value_head_dim, kd = cfg.key_dim(), vd = cfg.value_dim();
  const int64_t C = cfg.conv_dim(), K = cfg.linear_conv_kernel_dim;

  if (c.save) copy_par(x, N * D, sized(A.x, size_t(N * D)));
  float* u = sized(A.u, size_t(N * D));
  rmsnorm(x, L.input_norm, u, N, D, float(cfg.rms_norm_eps));
  // Every projection of u in one call: q | k | v side by side (the conv input), the gates' inputs, the output gate.
  float* qkv = sized(A.qkv, size_t(N * C));
  float* braw = sized(A.braw, size_t(N * Hv));
  float* araw = sized(A.araw, size_t(N * Hv));
  float* z = sized(A.z, size_t(N * vd));
  project(b.groups, u, D,
          {{&W.q, qkv, C}, {&W.k, qkv + kd, C}, {&W.v, qkv + 2 * kd, C}, {&W.b, braw, Hv}, {&W.a, araw, Hv},
           {&W.g, z, vd}});

  PhaseProfile::Scope ps_conv("gdn fwd conv+l2");
  float* cv = sized(A.cv, size_t(N * C));
  for (size_t i = 0; i < b.segs.size(); ++i) {
    LayerCache* lc = c.cache(i);
    const int64_t r0 = b.row0[i];
    short_conv_silu(qkv + r0 * C, b.segs[i].n, C, lc ? lc->conv.data() : nullptr, W.conv, K, cv + r0 * C);
  }
  // l2-normalise every q and k head (q also carries the dk^-1/2 scale); cv stays as it was for the backward.
  float* qkn = sized(A.qkn, size_t(N * C));
  copy_par(cv, N * C, qkn);
  l2norm_scale(qkn, N, Hk, dk, C, kL2NormEps, float(1.0 / std::sqrt(double(dk))));
  l2norm_scale(qkn + kd, N, Hk, dk, C, kL2NormEps, 1.f);
  ps_conv.stop();

  float* beta = sized(A.beta, size_t(N * Hv));
  float* g = sized(A.g, size_t(N * Hv));
  std::copy(braw, braw + N * Hv, beta);
  std::copy(araw, araw + N * Hv, g);
  gdn_gates(beta, g, N, Hv, W.A_log, W.dt_bias, cfg.linear_allow_neg_eigval);

  PhaseProfile::Scope ps_core("gdn core fwd");
  float* o = sized(A.o, size_t(N * vd));
  auto args_of = [&](size_t i, float* state) {
    const int64_t r0 = b.row0[i];
    const float* s = qkn + r0 * C;
    return GdnArgs<float>{s, C, s + kd, C, s + 2 * kd, C, beta + r0 * Hv, g + r0 * Hv, state, o + r0 * vd, vd,
                          b.segs[i].n, Hk, Hv, dk, dv};
  };
  // Decode rows of many sequences: one parallel loop over the sequences (each recurrence then runs on one
  // thread; the numbers do not depend on the threading).
  std::vector<size_t> decode_rows;
  for (size_t i = 0; i < b.segs.size(); ++i)
    if (b.segs[i].n == 1 && c.cache(i)) decode_rows.push_back(i);
  if (decode_rows.size() > 1) {
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t j = 0; j < decode_rows.size(); ++j)
      gdn_recurrent(args_of(decode_rows[j], c.cache(decode_rows[j])->state.data()));
  }
  for (size_t i = 0; i < b.segs.size(); ++i) {
    LayerCache* lc = c.cache(i);
    if (decode_rows.size() > 1 && b.segs[i].n == 1 && lc) continue;
    float* state = lc ? lc->state.data() : sized(c.s.state, size_t(Hv * dk * dv));
    if (!lc) std::fill_n(state, Hv * dk * dv, 0.f);
    const GdnArgs<float> args = args_of(i, state);
    if (args.T == 1) gdn_recurrent(args);  // the decode path HF uses; chunked otherwise
    else if (gdn_bf16_selected() && !c.save) gdn_chunk_forward_bf16(args, kGdnChunk);
    else gdn_chunk_forward(args, kGdnChunk);
  }
  ps_core.stop();

  float* nrm = sized(A.nrm, size_t(N * vd));
  gated_rmsnorm(o, z, W.o_norm, nrm, N * Hv, dv, kGatedNormEps);
  float* tmp = sized(c.s.tmp, size_t(N * D));
  project(b.groups, nrm, vd, W.o, tmp, D);
  add_par(x, tmp, N * D, c.save ? sized(A.x1, size_t(N * D)) : nullptr);

  float* u2 = sized(A.u2, size_t(N * D));
  rmsnorm(x, L.post_attn_norm, u2, N, D, float(cfg.rms_norm_eps));
  mlp_forward(c, A, u2, tmp);
  add_par(x, tmp, N * D);
}

void gdn_layer_backward(const LayerCtx& c, LayerActs& A, float* dy, LayerParams& G) {
  const ModelConfig& cfg = c.cfg;
  const LayerWeights& L = c.L;
  const GdnWeights& W = L.gdn;
  const BatchRows& b = c.batch;
  LayerScratch& s = c.s;
  const int64_t N = b.rows, D = cfg.hidden_size, Hv = cfg.linear_num_value_heads, Hk = cfg.linear_num_key_heads;
  const int64_t dk = cfg.linear_key_head_dim, dv = cfg.linear_value_head_dim, kd = cfg.key_dim(), vd = cfg.value_dim();
  const int64_t C = cfg.conv_dim(), K = cfg.linear_conv_kernel_dim;
  const double eps = float(cfg.rms_norm_eps);

  // MLP branch: y = x1 + MLP(rmsnorm(x1)).
  float* du = sized(s.du, size_t(N * D));
  float* dx1 = sized(s.dx1, size_t(N * D));
  copy_par(dy, N * D, dx1);
  mlp_backward(c, A, dy, A.u2.data(), du, G);
  rmsnorm_backward<float>(A.x1.data(), L.post_attn_norm, du, dx1, G.post_attn_norm, N, D, eps, -1, -1, -1, true);

  // Mixer: x1 = x + o_proj(gated_norm(gdn(...), z)).
  float* dn = sized(s.dn, size_t(N * vd));
  float* d_o = sized(s.d_o, size_t(N * vd));
  float* dz = sized(s.dz, size_t(N * vd));
  linear_bwd(dx1, N, D, A.nrm.data(), vd, W.o, G.gdn.o, dn, vd, false);
  PhaseProfile::Scope ps_gn("gdn bwd gated norm");
  gated_rmsnorm_backward<float>(A.o.data(), A.z.data(), W.o_norm, dn, d_o, dz, G.gdn.o_norm, N * Hv, dv,
                                kGatedNormEps);
  ps_gn.stop();
  linear_bwd(dz, N, vd, A.u.data(), D, W.g, G.gdn.g, du, D, false);

  float* dcv = sized(s.dcv, size_t(N * C));
  float* dbeta = sized(s.dbeta, size_t(N * Hv));
  float* dg = sized(s.dg, size_t(N * Hv));
  PhaseProfile::Scope ps_core("gdn core bwd");
  for (size_t i = 0; i < b.segs.size(); ++i) {
    const int64_t r0 = b.row0[i], n = b.segs[i].n;
    const float* q = A.qkn.data() + r0 * C;
    float* ds = dcv + r0 * C;
    GdnArgs<float> args{q, C, q + kd, C, q + 2 * kd, C, A.beta.data() + r0 * Hv, A.g.data() + r0 * Hv, nullptr,
                        nullptr, vd, n, Hk, Hv, dk, dv};
    GdnGradArgs<float> grads{d_o + r0 * vd, vd, nullptr, ds, C, ds + kd, C, ds + 2 * kd, C, dbeta + r0 * Hv,
                             dg + r0 * Hv, nullptr};
    gdn_chunk_backward(args, grads, kGdnChunk);
  }
  ps_core.stop();
  float* db = sized(s.db, size_t(N * Hv));
  float* da = sized(s.da, size_t(N * Hv));
  gdn_gates_backward<float>(A.braw.data(), A.araw.data(), N, Hv, W.A_log, W.dt_bias, cfg.linear_allow_neg_eigval,
                            dbeta, dg, db, da, G.gdn.A_log, G.gdn.dt_bias);
  linear_bwd(db, N, Hv, A.u.data(), D, W.b, G.gdn.b, du, D, true);
  linear_bwd(da, N, Hv, A.u.data(), D, W.a, G.gdn.a, du, D, true);

  PhaseProfile::Scope ps_conv("gdn bwd l2+conv");
  l2norm_scale_backward<float>(A.cv.data(), dcv, dcv, N, Hk, dk, C, C, C, kL2NormEps, 1.0 / std::sqrt(double(dk)));
  l2norm_scale_backward<float>(A.cv.data() + kd, dcv + kd, dcv + kd, N, Hk, dk, C, C, C, kL2NormEps, 1.0);
  float* dqkv = sized(s.dqkv, size_t(N * C));
  for (size_t i = 0; i < b.segs.size(); ++i) {
    const int64_t r0 = b.row0[i];
    short_conv_silu_backward<float>(A.qkv.data() + r0 * C, b.segs[i].n, C, W.conv, K, dcv + r0 * C,
                                    dqkv + r0 * C, G.gdn.conv);
  }
  ps_conv.stop();
  const WeightMat* ms[] = {&W.q, &W.k, &W.v};
  float* gs[] = {G.gdn.q, G.gdn.k, G.gdn.v};
  const WeightMat Wqkv = stacked_weights(ms, gs);
  if (Wqkv.rows) {
    linear_bwd(dqkv, N, C, A.u.data(), D, Wqkv, G.gdn.q, du, D, true);
  } else {
    linear_bwd(dqkv, N, C, A.u.data(), D, W.q, G.gdn.q, du, D, true);
    linear_bwd(dqkv + kd, N, C, A.u.data(), D, W.k, G.gdn.k, du, D, true);
    linear_bwd(dqkv + 2 * kd, N, C, A.u.data(), D, W.v, G.gdn.v, du, D, true);
  }

  // u = rmsnorm(x); x also flows straight into x1.
  copy_par(dx1, N * D, dy);
  rmsnorm_backward<float>(A.x.data(), L.input_norm, du, dy, G.input_norm, N, D, eps, -1, -1, -1, true);
}

}  // namespace hyb
