#include "train/grad_model.h"

#include <cmath>

#include "core/error.h"
#include "kernels/activations.h"
#include "kernels/activations_backward.h"
#include "kernels/attention.h"
#include "kernels/attention_train.h"
#include "kernels/gdn.h"
#include "kernels/linear_backward.h"
#include "kernels/lm_head_loss.h"
#include "kernels/norms.h"
#include "kernels/norms_backward.h"
#include "kernels/rope.h"
#include "kernels/rope_backward.h"
#include "kernels/short_conv_backward.h"
#include "train/fused_ops.h"
#include "train/phase_profile.h"

namespace hyb {

namespace {
constexpr float kGatedNormEps = 1e-5f;  // hard-coded in HF, not rms_norm_eps (spec §8.3)
constexpr float kL2NormEps = 1e-6f;
constexpr int64_t kGdnChunk = 64;

// Grows (never shrinks) a reused buffer; contents are unspecified, every user writes before reading.
float* sized(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Residual-stream passes over [N, D]: memory-bound, so both threads' bandwidth is worth the fork.
void copy_par(const float* src, int64_t n, float* dst) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
// x += y, and save a copy of the new x when `save` is given.
void add_par(float* x, const float* y, int64_t n, float* save = nullptr) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    x[i] += y[i];
    if (save) save[i] = x[i];
  }
}

// The matrices as one [Σ rows, cols] matrix when they (and their gradients) lie back to back in memory, as
// ParamTensors lays out q|k|v and gate|up; then one GEMM replaces several thin ones. rows = 0 when they do not.
WeightMat stacked(std::initializer_list<const WeightMat*> ms, std::initializer_list<float*> grads) {
  WeightMat r = **ms.begin();
  r.rows = 0;
  const float* next = r.f32();
  const float* gnext = *grads.begin();  // null: no gradients to check (forward)
  auto g = grads.begin();
  for (const WeightMat* m : ms) {
    if (m->dtype != DType::F32 || m->f32() != next || m->cols != r.cols || (gnext && *g != gnext)) return WeightMat{};
    next += m->rows * m->cols;
    if (gnext) gnext += m->rows * m->cols;
    r.rows += m->rows;
    ++g;
  }
  return r;
}

// dx (+)= dy · W and dW += dyᵀ · x for one nn.Linear; W is F32 [out, in].
void linear_bwd(const float* dy, int64_t M, int64_t lddy, const float* x, int64_t ldx, const WeightMat& W,
                float* dW, float* dx, int64_t lddx, bool accumulate) {
  linear_backward_input<float>(dy, M, lddy, W.f32(), W.rows, W.cols, dx, lddx, accumulate ? 1.f : 0.f);
  linear_backward_weight<float>(dy, M, lddy, x, ldx, dW, W.rows, W.cols);
}
}  // namespace

GradModel::GradModel(const Weights& w) : w_(w) {
  if (w.matrix_dtype != DType::F32 || w.embed.dtype != DType::F32)
    fail("training needs F32 weights in memory (load the checkpoint with dtype f32)");
  acts_.resize(w.layers.size());
}

void GradModel::mlp_forward(const LayerWeights& L, Acts& A, const float* in, float* out) {
  PhaseProfile::Scope ps("mlp fwd");
  const int64_t N = N_, I = w_.config().intermediate_size;
  float* h = sized(A.mh, size_t(N * I));
  const WeightMat Wgu = stacked({&L.gate, &L.up}, {nullptr, nullptr});
  A.fused_gu = Wgu.rows > 0;
  if (A.fused_gu) {  // A.mg holds gate|up side by side, [N, 2I]
    float* gu = sized(A.mg, size_t(N * 2 * I));
    linear(in, N, Wgu, gu);
    swiglu_rows(gu, N, I, h);
  } else {
    float* gate = sized(A.mg, size_t(N * I));
    float* up = sized(A.mu, size_t(N * I));
    linear(in, N, L.gate, gate);
    linear(in, N, L.up, up);
    swiglu_into(gate, up, h, N * I);
  }
  linear(h, N, L.down, out);
}

void GradModel::mlp_backward(const LayerWeights& L, Acts& A, const float* dout, const float* in, float* din,
                             LayerParams& G) {
  PhaseProfile::Scope ps("mlp bwd");
  const int64_t N = N_, D = w_.config().hidden_size, I = w_.config().intermediate_size;
  float* dh = sized(s_.dI1, size_t(N * I));
  linear_bwd(dout, N, D, A.mh.data(), I, L.down, G.down, dh, I, false);
  if (A.fused_gu) {
    float* dgu = sized(s_.dI2, size_t(N * 2 * I));
    swiglu_rows_backward(A.mg.data(), dh, N, I, dgu);
    const WeightMat Wgu = stacked({&L.gate, &L.up}, {G.gate, G.up});
    if (Wgu.rows) {
      linear_bwd(dgu, N, 2 * I, in, D, Wgu, G.gate, din, D, false);
    } else {
      linear_bwd(dgu, N, 2 * I, in, D, L.gate, G.gate, din, D, false);
      linear_bwd(dgu + I, N, 2 * I, in, D, L.up, G.up, din, D, true);
    }
  } else {
    float* dup = sized(s_.dI2, size_t(N * I));
    swiglu_backward<float>(A.mg.data(), A.mu.data(), dh, dh, dup, N * I);
    linear_bwd(dh, N, I, in, D, L.gate, G.gate, din, D, false);
    linear_bwd(dup, N, I, in, D, L.up, G.up, din, D, true);
  }
}

void GradModel::gdn_forward(size_t l, float* x) {
  const ModelConfig& c = w_.config();
  const LayerWeights& L = w_.layers[l];
  const GdnWeights& W = L.gdn;
  Acts& A = acts_[l];
  const int64_t N = N_, T = T_, D = c.hidden_size, Hv = c.linear_num_value_heads, Hk = c.linear_num_key_heads;
  const int64_t dk = c.linear_key_head_dim, dv = c.linear_value_head_dim, kd = c.key_dim(), vd = c.value_dim();
  const int64_t C = c.conv_dim(), K = c.linear_conv_kernel_dim;

  copy_par(x, N * D, sized(A.x, size_t(N * D)));
  float* u = sized(A.u, size_t(N * D));
  rmsnorm(x, L.input_norm, u, N, D, float(c.rms_norm_eps));
  float* qkv = sized(A.qkv, size_t(N * C));
  const WeightMat Wqkv = stacked({&W.q, &W.k, &W.v}, {nullptr, nullptr, nullptr});
  if (Wqkv.rows) {
    linear(u, N, D, Wqkv, qkv, C);
  } else {
    linear(u, N, D, W.q, qkv, C);
    linear(u, N, D, W.k, qkv + kd, C);
    linear(u, N, D, W.v, qkv + 2 * kd, C);
  }
  float* cv = sized(A.cv, size_t(N * C));
  PhaseProfile::Scope ps_conv("gdn fwd conv+l2");
  short_conv_silu_batch(qkv, B_, T, C, W.conv, K, cv);
  float* qkn = sized(A.qkn, size_t(N * C));
  copy_par(cv, N * C, qkn);
  l2norm_scale(qkn, N, Hk, dk, C, kL2NormEps, float(1.0 / std::sqrt(double(dk))));
  l2norm_scale(qkn + kd, N, Hk, dk, C, kL2NormEps, 1.f);
  ps_conv.stop();

  float* braw = sized(A.braw, size_t(N * Hv));
  float* araw = sized(A.araw, size_t(N * Hv));
  linear(u, N, W.b, braw);
  linear(u, N, W.a, araw);
  float* beta = sized(A.beta, size_t(N * Hv));
  float* g = sized(A.g, size_t(N * Hv));
  std::copy(braw, braw + N * Hv, beta);
  std::copy(araw, araw + N * Hv, g);
  gdn_gates(beta, g, N, Hv, W.A_log, W.dt_bias, c.linear_allow_neg_eigval);

  float* o = sized(A.o, size_t(N * vd));
  PhaseProfile::Scope ps_core("gdn core fwd");
  for (int64_t b = 0; b < B_; ++b) {
    float* state = sized(s_.state, size_t(Hv * dk * dv));
    std::fill_n(state, Hv * dk * dv, 0.f);
    const float* s = qkn + b * T * C;
    GdnArgs<float> args{s, C, s + kd, C, s + 2 * kd, C, beta + b * T * Hv, g + b * T * Hv, state,
                        o + b * T * vd, vd, T, Hk, Hv, dk, dv};
    gdn_chunk_forward(args, kGdnChunk);
  }
  ps_core.stop();
  float* z = sized(A.z, size_t(N * vd));
  linear(u, N, W.g, z);
  float* nrm = sized(A.nrm, size_t(N * vd));
  gated_rmsnorm(o, z, W.o_norm, nrm, N * Hv, dv, kGatedNormEps);
  float* tmp = sized(s_.tmp, size_t(N * D));
  linear(nrm, N, W.o, tmp);
  add_par(x, tmp, N * D, sized(A.x1, size_t(N * D)));

  float* u2 = sized(A.u2, size_t(N * D));
  rmsnorm(x, L.post_attn_norm, u2, N, D, float(c.rms_norm_eps));
  mlp_forward(L, A, u2, tmp);
  add_par(x, tmp, N * D);
}

void GradModel::gdn_backward(size_t l, float* dy, LayerParams& G) {
  const ModelConfig& c = w_.config();
  const LayerWeights& L = w_.layers[l];
  const GdnWeights& W = L.gdn;
  Acts& A = acts_[l];
  const int64_t N = N_, T = T_, D = c.hidden_size, Hv = c.linear_num_value_heads, Hk = c.linear_num_key_heads;
  const int64_t dk = c.linear_key_head_dim, dv = c.linear_value_head_dim, kd = c.key_dim(), vd = c.value_dim();
  const int64_t C = c.conv_dim(), K = c.linear_conv_kernel_dim;
  const double eps = float(c.rms_norm_eps);

  // MLP branch: y = x1 + MLP(rmsnorm(x1)).
  float* du = sized(s_.du, size_t(N * D));
  float* dx1 = sized(s_.dx1, size_t(N * D));
  copy_par(dy, N * D, dx1);
  mlp_backward(L, A, dy, A.u2.data(), du, G);
  rmsnorm_backward<float>(A.x1.data(), L.post_attn_norm, du, dx1, G.post_attn_norm, N, D, eps, -1, -1, -1, true);

  // Mixer: x1 = x + o_proj(gated_norm(gdn(...), z)).
  float* dn = sized(s_.dn, size_t(N * vd));
  float* d_o = sized(s_.d_o, size_t(N * vd));
  float* dz = sized(s_.dz, size_t(N * vd));
  linear_bwd(dx1, N, D, A.nrm.data(), vd, W.o, G.gdn.o, dn, vd, false);
  PhaseProfile::Scope ps_gn("gdn bwd gated norm");
  gated_rmsnorm_backward<float>(A.o.data(), A.z.data(), W.o_norm, dn, d_o, dz, G.gdn.o_norm, N * Hv, dv,
                                kGatedNormEps);
  ps_gn.stop();
  linear_bwd(dz, N, vd, A.u.data(), D, W.g, G.gdn.g, du, D, false);

  float* dcv = sized(s_.dcv, size_t(N * C));
  float* dbeta = sized(s_.dbeta, size_t(N * Hv));
  float* dg = sized(s_.dg, size_t(N * Hv));
  PhaseProfile::Scope ps_core("gdn core bwd");
  for (int64_t b = 0; b < B_; ++b) {
    const float* s = A.qkn.data() + b * T * C;
    float* ds = dcv + b * T * C;
    GdnArgs<float> args{s, C, s + kd, C, s + 2 * kd, C, A.beta.data() + b * T * Hv, A.g.data() + b * T * Hv,
                        nullptr, nullptr, vd, T, Hk, Hv, dk, dv};
    GdnGradArgs<float> grads{d_o + b * T * vd, vd, nullptr, ds, C, ds + kd, C, ds + 2 * kd, C,
                             dbeta + b * T * Hv, dg + b * T * Hv, nullptr};
    gdn_chunk_backward(args, grads, kGdnChunk);
  }
  ps_core.stop();
  float* db = sized(s_.db, size_t(N * Hv));
  float* da = sized(s_.da, size_t(N * Hv));
  gdn_gates_backward<float>(A.braw.data(), A.araw.data(), N, Hv, W.A_log, W.dt_bias, c.linear_allow_neg_eigval,
                            dbeta, dg, db, da, G.gdn.A_log, G.gdn.dt_bias);
  linear_bwd(db, N, Hv, A.u.data(), D, W.b, G.gdn.b, du, D, true);
  linear_bwd(da, N, Hv, A.u.data(), D, W.a, G.gdn.a, du, D, true);

  PhaseProfile::Scope ps_conv("gdn bwd l2+conv");
  l2norm_scale_backward<float>(A.cv.data(), dcv, dcv, N, Hk, dk, C, C, C, kL2NormEps, 1.0 / std::sqrt(double(dk)));
  l2norm_scale_backward<float>(A.cv.data() + kd, dcv + kd, dcv + kd, N, Hk, dk, C, C, C, kL2NormEps, 1.0);
  float* dqkv = sized(s_.dqkv, size_t(N * C));
  for (int64_t b = 0; b < B_; ++b)
    short_conv_silu_backward<float>(A.qkv.data() + b * T * C, T, C, W.conv, K, dcv + b * T * C, dqkv + b * T * C,
                                    G.gdn.conv);
  ps_conv.stop();
  const WeightMat Wqkv = stacked({&W.q, &W.k, &W.v}, {G.gdn.q, G.gdn.k, G.gdn.v});
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

void GradModel::attn_forward(size_t l, float* x) {
  const ModelConfig& c = w_.config();
  const LayerWeights& L = w_.layers[l];
  const AttnWeights& W = L.attn;
  Acts& A = acts_[l];
  const int64_t N = N_, T = T_, D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const int64_t hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim();
  const float eps = float(c.rms_norm_eps);

  copy_par(x, N * D, sized(A.x, size_t(N * D)));
  float* q = sized(A.qkv, size_t(N * qd));
  float* k = sized(A.cv, size_t(N * kvd));
  float* v = sized(A.qkn, size_t(N * kvd));
  linear(x, N, W.q, q);
  linear(x, N, W.k, k);
  linear(x, N, W.v, v);
  float* qr = sized(A.qr, size_t(N * qd));
  float* kr = sized(A.kh, size_t(N * kvd));
  rmsnorm(q, W.q_norm, qr, N, qd, eps);  // QK-norm over the whole projection, before the head split
  rmsnorm(k, W.k_norm, kr, N, kvd, eps);
  if (c.rope_theta)
    for (int64_t b = 0; b < B_; ++b) {
      rope_apply(qr + b * T * qd, T, H, hd, qd, 0, *c.rope_theta);
      rope_apply(kr + b * T * kvd, T, Hkv, hd, kvd, 0, *c.rope_theta);
    }
  float* att = sized(A.att, size_t(N * qd));
  float* lse = sized(A.lse, size_t(B_ * H * T));
  {
    PhaseProfile::Scope ps("attn core fwd");
    const AttentionTrainArgs args{qr, qd, kr, v, kvd, B_, T, H, Hkv, hd, float(1.0 / std::sqrt(double(hd)))};
    attention_train_forward(args, att, qd, lse);
  }
  float* ap = sized(A.ap, size_t(N * D));
  linear(att, N, W.o, ap);
  float* tmp = sized(s_.tmp, size_t(N * D));
  rmsnorm(ap, L.post_attn_norm, tmp, N, D, eps);
  add_par(x, tmp, N * D, sized(A.x1, size_t(N * D)));
  float* m = sized(A.m, size_t(N * D));
  mlp_forward(L, A, x, m);
  rmsnorm(m, L.post_ff_norm, tmp, N, D, eps);
  add_par(x, tmp, N * D);
}

void GradModel::attn_backward(size_t l, float* dy, LayerParams& G) {
  const ModelConfig& c = w_.config();
  const LayerWeights& L = w_.layers[l];
  const AttnWeights& W = L.attn;
  Acts& A = acts_[l];
  const int64_t N = N_, T = T_, D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const int64_t hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim();
  const double eps = float(c.rms_norm_eps);

  // y = x1 + rmsnorm(MLP(x1)).
  float* dm = sized(s_.du, size_t(N * D));
  float* dx1 = sized(s_.dx1, size_t(N * D));
  float* dtmp = sized(s_.dD, size_t(N * D));
  copy_par(dy, N * D, dx1);
  rmsnorm_backward<float>(A.m.data(), L.post_ff_norm, dy, dm, G.post_ff_norm, N, D, eps);
  mlp_backward(L, A, dm, A.x1.data(), dtmp, G);
  add_par(dx1, dtmp, N * D);

  // x1 = x + rmsnorm(o_proj(attention(...))).
  float* dap = dtmp;
  float* datt = sized(s_.datt, size_t(N * qd));
  rmsnorm_backward<float>(A.ap.data(), L.post_attn_norm, dx1, dap, G.post_attn_norm, N, D, eps);
  linear_bwd(dap, N, D, A.att.data(), qd, W.o, G.attn.o, datt, qd, false);

  float* dq = sized(s_.dq, size_t(N * qd));
  float* dk = sized(s_.dk, size_t(N * kvd));
  float* dv = sized(s_.dv, size_t(N * kvd));
  {
    PhaseProfile::Scope ps("attn core bwd");
    const AttentionTrainArgs args{A.qr.data(), qd, A.kh.data(), A.qkn.data(), kvd, B_, T, H, Hkv, hd,
                                  float(1.0 / std::sqrt(double(hd)))};
    attention_train_backward(args, A.att.data(), qd, A.lse.data(), datt, qd, dq, qd, dk, dv, kvd);
  }
  if (c.rope_theta)
    for (int64_t b = 0; b < B_; ++b) {
      rope_backward<float>(dq + b * T * qd, T, H, hd, qd, 0, *c.rope_theta);
      rope_backward<float>(dk + b * T * kvd, T, Hkv, hd, kvd, 0, *c.rope_theta);
    }
  rmsnorm_backward<float>(A.qkv.data(), W.q_norm, dq, dq, G.attn.q_norm, N, qd, eps);
  rmsnorm_backward<float>(A.cv.data(), W.k_norm, dk, dk, G.attn.k_norm, N, kvd, eps);
  copy_par(dx1, N * D, dy);
  linear_bwd(dq, N, qd, A.x.data(), D, W.q, G.attn.q, dy, D, true);
  linear_bwd(dk, N, kvd, A.x.data(), D, W.k, G.attn.k, dy, D, true);
  linear_bwd(dv, N, kvd, A.x.data(), D, W.v, G.attn.v, dy, D, true);
}

void GradModel::forward(const int32_t* ids, int64_t B, int64_t T, const int32_t* given) {
  const ModelConfig& c = w_.config();
  if (T < 2) fail("need at least 2 tokens per sequence for a next-token loss (got T=", T, ")");
  B_ = B;
  T_ = T;
  N_ = B * T;
  const int64_t N = N_, D = c.hidden_size, V = c.vocab_size;
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V) fail("token id ", ids[i], " at position ", i, " is outside [0, ", V, ")");

  std::vector<float>& x = x_;
  x.resize(size_t(N * D));
  for (int64_t i = 0; i < N; ++i) weight_row_f32(w_.embed, ids[i], x.data() + i * D);
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    const bool gdn = w_.layers[l].kind == LayerKind::GDN;
    PhaseProfile::Scope ps(gdn ? "gdn layer fwd" : "attn layer fwd");
    if (gdn) gdn_forward(l, x.data());
    else attn_forward(l, x.data());
  }
  xf_ = x;
  hf_.resize(size_t(N * D));
  rmsnorm(xf_.data(), w_.final_norm, hf_.data(), N, D, float(c.rms_norm_eps));

  std::vector<int32_t>& targets = targets_;
  targets.resize(size_t(N));
  if (given) {
    for (int64_t i = 0; i < N; ++i) {
      if (given[i] >= V) fail("target id ", given[i], " at position ", i, " is outside [0, ", V, ")");
      targets[size_t(i)] = given[i] < 0 ? -1 : given[i];
    }
  } else {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) targets[b * T + t] = t + 1 < T ? ids[b * T + t + 1] : -1;
  }
}

int64_t GradModel::target_count() const {
  int64_t n = 0;
  for (int32_t t : targets_) n += t >= 0;
  return n;
}

LossStats GradModel::loss(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets) {
  forward(ids, B, T, targets);
  const ModelConfig& c = w_.config();
  const int64_t count = target_count();
  const double inv = count ? 1.0 / double(count) : 0.0;
  LmHeadLossArgs<float> la{hf_.data(), N_, c.hidden_size, w_.lm_head.f32(), c.vocab_size, targets_.data(),
                           inv, 0.0, nullptr, nullptr};
  const LmHeadLossResult r = lm_head_loss(la);
  LossStats s;
  s.loss = r.ce_sum * inv;
  s.z_mean = r.z_sum * inv;
  s.count = count;
  return s;
}

LossStats GradModel::loss_and_grads(const int32_t* ids, int64_t B, int64_t T, ParamTensors& grads, double z_loss,
                                    const int32_t* given_targets) {
  {
    PhaseProfile::Scope ps("forward (all)");
    forward(ids, B, T, given_targets);
  }
  HYB_ASSERT(grads.layers.size() == w_.layers.size());
  const ModelConfig& c = w_.config();
  const int64_t N = N_, D = c.hidden_size, V = c.vocab_size;
  std::vector<float>& x = x_;
  std::vector<int32_t>& targets = targets_;
  const int64_t count = target_count();
  const double inv = count ? 1.0 / double(count) : 0.0;

  grads.zero();
  std::vector<float>& dh = dh_;
  dh.resize(size_t(N * D));
  LmHeadLossArgs<float> la{hf_.data(), N, D, w_.lm_head.f32(), V, targets.data(), inv, z_loss,
                           dh.data(), grads.lm_head};
  PhaseProfile::Scope ps_head("lm_head+CE fwd+bwd");
  const LmHeadLossResult r = lm_head_loss(la);
  ps_head.stop();
  PhaseProfile::Scope ps_bwd("backward (all)");
  rmsnorm_backward<float>(xf_.data(), w_.final_norm, dh.data(), x.data(), grads.final_norm, N, D,
                          float(c.rms_norm_eps));
  for (size_t l = w_.layers.size(); l-- > 0;) {
    const bool gdn = w_.layers[l].kind == LayerKind::GDN;
    PhaseProfile::Scope ps(gdn ? "gdn layer bwd" : "attn layer bwd");
    if (gdn) gdn_backward(l, x.data(), grads.layers[l]);
    else attn_backward(l, x.data(), grads.layers[l]);
  }
  for (int64_t i = 0; i < N; ++i) {
    float* e = grads.embed + int64_t(ids[i]) * D;
    const float* g = x.data() + i * D;
    for (int64_t j = 0; j < D; ++j) e[j] += g[j];
  }
  ps_bwd.stop();
  LossStats s;
  s.count = r.count;
  s.loss = r.ce_sum * inv;
  s.z_mean = r.z_sum * inv;
  return s;
}

}  // namespace hyb
