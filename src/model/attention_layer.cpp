#include "model/attention_layer.h"

#include <algorithm>
#include <cmath>

#include "core/dtype.h"
#include "core/phase_profile.h"
#include "kernels/attention.h"
#include "kernels/attention_train.h"
#include "kernels/norms.h"
#include "kernels/norms_backward.h"
#include "kernels/rope.h"
#include "kernels/rope_backward.h"
#include "model/cache.h"
#include "model/layer_backward.h"
#include "model/mlp_layer.h"
#include "model/param_tensors.h"
#include "model/projection.h"

namespace hyb {

namespace {
AttentionTrainArgs run_args(const LayerCtx& c, const BatchRows::Run& run, const float* q, const float* k,
                            const float* v) {
  const ModelConfig& cfg = c.cfg;
  const int64_t r0 = c.batch.row0[run.first], hd = cfg.head_dim;
  return AttentionTrainArgs{q + r0 * cfg.q_dim(), cfg.q_dim(), k + r0 * cfg.kv_dim(), v + r0 * cfg.kv_dim(),
                            cfg.kv_dim(), int64_t(run.count), c.batch.segs[run.first].n, cfg.num_attention_heads,
                            cfg.num_key_value_heads, hd, float(1.0 / std::sqrt(double(hd)))};
}
}  // namespace

void attention_layer_forward(const LayerCtx& c, LayerActs& A, float* x) {
  const ModelConfig& cfg = c.cfg;
  const LayerWeights& L = c.L;
  const AttnWeights& W = L.attn;
  const BatchRows& b = c.batch;
  const int64_t N = b.rows, D = cfg.hidden_size, H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads;
  const int64_t hd = cfg.head_dim, qd = cfg.q_dim(), kvd = cfg.kv_dim();
  const float eps = float(cfg.rms_norm_eps);

  if (c.save) copy_par(x, N * D, sized(A.x, size_t(N * D)));
  float* q = sized(A.qkv, size_t(N * qd));
  float* k = sized(A.cv, size_t(N * kvd));
  float* v = sized(A.qkn, size_t(N * kvd));
  project(b.groups, x, D, {{&W.q, q, qd}, {&W.k, k, kvd}, {&W.v, v, kvd}});
  float* qr = sized(A.qr, size_t(N * qd));
  float* kr = sized(A.kh, size_t(N * kvd));
  rmsnorm(q, W.q_norm, qr, N, qd, eps);  // QK-norm over the whole projection, before the head split
  rmsnorm(k, W.k_norm, kr, N, kvd, eps);
  if (cfg.rope_theta)
    for (size_t i = 0; i < b.segs.size(); ++i) {
      const int64_t r0 = b.row0[i], n = b.segs[i].n, pos = b.segs[i].pos;
      rope_apply(qr + r0 * qd, n, H, hd, qd, pos, *cfg.rope_theta);
      rope_apply(kr + r0 * kvd, n, Hkv, hd, kvd, pos, *cfg.rope_theta);
    }

  float* att = sized(A.att, size_t(N * qd));
  {
    PhaseProfile::Scope ps("attn core fwd");
    const float scale = float(1.0 / std::sqrt(double(hd)));
    for (size_t i = 0; i < b.segs.size(); ++i) {
      LayerCache* lc = c.cache(i);
      if (!lc) continue;
      const int64_t r0 = b.row0[i], n = b.segs[i].n, past = b.segs[i].pos;
      const bool bf16 = lc->kv == KvDtype::BF16;  // new keys and values are rounded as they enter a BF16 cache
      for (int64_t h = 0; h < Hkv; ++h)
        for (int64_t t = 0; t < n; ++t) {
          const float* ks = kr + (r0 + t) * kvd + h * hd;
          const float* vs = v + (r0 + t) * kvd + h * hd;
          const int64_t at = (h * lc->capacity + past + t) * hd;
          if (bf16) {
            for (int64_t i = 0; i < hd; ++i) {
              lc->kb[size_t(at + i)] = f32_to_bf16(ks[i]);
              lc->vb[size_t(at + i)] = f32_to_bf16(vs[i]);
            }
          } else {
            std::copy_n(ks, hd, lc->k.begin() + at);
            std::copy_n(vs, hd, lc->v.begin() + at);
          }
        }
      AttentionArgs args{qr + r0 * qd, qd, lc->k.data(), lc->v.data(), lc->capacity * hd, att + r0 * qd,
                         qd, n, H, Hkv, hd, past, scale};
      if (bf16) {
        args.kb = lc->kb.data();
        args.vb = lc->vb.data();
      }
      attention_causal(args);
    }
    // Fresh segments attend within themselves; equal-length neighbours run as one batched call.
    float* lse = c.save ? sized(A.lse, size_t(N * H)) : sized(c.s.lse, size_t(N * H));
    for (const BatchRows::Run& run : b.fresh_runs) {
      const int64_t r0 = b.row0[run.first];
      attention_train_forward(run_args(c, run, qr, kr, v), att + r0 * qd, qd, lse + r0 * H);
    }
  }

  float* ap = sized(A.ap, size_t(N * D));
  project(b.groups, att, qd, W.o, ap, D);
  float* tmp = sized(c.s.tmp, size_t(N * D));
  rmsnorm(ap, L.post_attn_norm, tmp, N, D, eps);
  add_par(x, tmp, N * D, c.save ? sized(A.x1, size_t(N * D)) : nullptr);
  float* m = sized(A.m, size_t(N * D));
  mlp_forward(c, A, x, m);
  rmsnorm(m, L.post_ff_norm, tmp, N, D, eps);
  add_par(x, tmp, N * D);
}

void attention_layer_backward(const LayerCtx& c, LayerActs& A, float* dy, LayerParams& G) {
  const ModelConfig& cfg = c.cfg;
  const LayerWeights& L = c.L;
  const AttnWeights& W = L.attn;
  const BatchRows& b = c.batch;
  LayerScratch& s = c.s;
  const int64_t N = b.rows, D = cfg.hidden_size, H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads;
  const int64_t hd = cfg.head_dim, qd = cfg.q_dim(), kvd = cfg.kv_dim();
  const double eps = float(cfg.rms_norm_eps);

  // y = x1 + rmsnorm(MLP(x1)).
  float* dm = sized(s.du, size_t(N * D));
  float* dx1 = sized(s.dx1, size_t(N * D));
  float* dtmp = sized(s.dD, size_t(N * D));
  copy_par(dy, N * D, dx1);
  rmsnorm_backward<float>(A.m.data(), L.post_ff_norm, dy, dm, G.post_ff_norm, N, D, eps);
  mlp_backward(c, A, dm, A.x1.data(), dtmp, G);
  add_par(dx1, dtmp, N * D);

  // x1 = x + rmsnorm(o_proj(attention(...))).
  float* dap = dtmp;
  float* datt = sized(s.datt, size_t(N * qd));
  rmsnorm_backward<float>(A.ap.data(), L.post_attn_norm, dx1, dap, G.post_attn_norm, N, D, eps);
  linear_bwd(dap, N, D, A.att.data(), qd, W.o, G.attn.o, datt, qd, false);

  float* dq = sized(s.dq, size_t(N * qd));
  float* dk = sized(s.dk, size_t(N * kvd));
  float* dv = sized(s.dv, size_t(N * kvd));
  {
    PhaseProfile::Scope ps("attn core bwd");
    for (const BatchRows::Run& run : b.fresh_runs) {
      const int64_t r0 = b.row0[run.first];
      attention_train_backward(run_args(c, run, A.qr.data(), A.kh.data(), A.qkn.data()), A.att.data() + r0 * qd,
                               qd, A.lse.data() + r0 * H, datt + r0 * qd, qd, dq + r0 * qd, qd, dk + r0 * kvd,
                               dv + r0 * kvd, kvd);
    }
  }
  if (cfg.rope_theta)
    for (size_t i = 0; i < b.segs.size(); ++i) {
      const int64_t r0 = b.row0[i], n = b.segs[i].n, pos = b.segs[i].pos;
      rope_backward<float>(dq + r0 * qd, n, H, hd, qd, pos, *cfg.rope_theta);
      rope_backward<float>(dk + r0 * kvd, n, Hkv, hd, kvd, pos, *cfg.rope_theta);
    }
  rmsnorm_backward<float>(A.qkv.data(), W.q_norm, dq, dq, G.attn.q_norm, N, qd, eps);
  rmsnorm_backward<float>(A.cv.data(), W.k_norm, dk, dk, G.attn.k_norm, N, kvd, eps);
  copy_par(dx1, N * D, dy);
  linear_bwd(dq, N, qd, A.x.data(), D, W.q, G.attn.q, dy, D, true);
  linear_bwd(dk, N, kvd, A.x.data(), D, W.k, G.attn.k, dy, D, true);
  linear_bwd(dv, N, kvd, A.x.data(), D, W.v, G.attn.v, dy, D, true);
}

}  // namespace hyb
