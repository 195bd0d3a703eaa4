// Training forward + exact backward of the whole model over a batch of B sequences × T tokens. The forward
// runs the same kernels as Model (model/model.cpp) and keeps the activations the backward needs; the backward
// produces d(mean next-token cross-entropy [+ z-loss])/dθ for every canonical parameter.
#pragma once
#include <cstdint>
#include <vector>

#include "model/weights.h"
#include "train/param_tensors.h"

namespace hyb {

struct LossStats {
  double loss = 0;     // mean next-token cross-entropy
  double z_mean = 0;   // mean lse² over the same targets (the z-loss before its multiplier)
  int64_t count = 0;   // number of targets: B·(T−1), or the non-negative entries of explicit targets
};

class GradModel {
 public:
  // `w` must hold F32 matrices (Weights::load(dir, WeightDType::F32), or ParamTensors::view()); it is not copied.
  explicit GradModel(const Weights& w);

  // ids: [B, T] row-major, checked against the vocabulary. Zeroes `grads`, then fills it with the gradient of
  // loss + z_loss · z_mean. Targets are ids shifted by one inside each sequence, unless `targets` ([B, T]) gives
  // the id each position must predict, negative = no loss there (synthetic tasks score answer positions only).
  // The loss is the mean over scored positions; a batch with none has loss 0 and zero gradients.
  LossStats loss_and_grads(const int32_t* ids, int64_t B, int64_t T, ParamTensors& grads, double z_loss = 0,
                           const int32_t* targets = nullptr);
  // The same loss without the backward (evaluation).
  LossStats loss(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets = nullptr);

 private:
  // Saved activations of one layer, all [N = B·T, ·] row-major; which are used depends on the layer kind.
  struct Acts {
    std::vector<float> x;                 // layer input
    std::vector<float> u;                 // GDN: input_layernorm(x)
    std::vector<float> qkv;               // GDN: conv input q|k|v [N, conv_dim]; attn: q_raw [N, q_dim]
    std::vector<float> cv;                // GDN: silu(conv) before the l2 norms; attn: k_raw [N, kv_dim]
    std::vector<float> qkn;               // GDN: l2-normalised q̂|k̂|v [N, conv_dim]; attn: v [N, kv_dim]
    std::vector<float> braw, araw;        // GDN: b_proj, a_proj outputs [N, Hv]
    std::vector<float> beta, g;           // GDN: gates [N, Hv]
    std::vector<float> o, z, nrm;         // GDN: core output, gate, gated-norm output [N, value_dim]
    std::vector<float> qr, kh;            // attn: q, k after norm+RoPE [N, q_dim] / [N, kv_dim]
    std::vector<float> lse;               // attn: softmax log-sum-exp per [B, H, T]
    std::vector<float> att, ap;           // attn: attention output [N, q_dim], o_proj output [N, D]
    std::vector<float> x1;                // after the mixer's residual add
    std::vector<float> u2;                // GDN: post_attention_layernorm(x1) (MLP input)
    std::vector<float> mg, mu, mh, m;     // MLP: gate, up, silu(gate)·up [N, I]; attn: MLP output [N, D]
    bool fused_gu = false;                // MLP: mg holds gate|up as [N, 2I] (one GEMM), mu unused
  };

  void forward(const int32_t* ids, int64_t B, int64_t T, const int32_t* targets);  // fills acts_, xf_, hf_, targets_
  int64_t target_count() const;
  void gdn_forward(size_t l, float* x);
  void attn_forward(size_t l, float* x);
  void mlp_forward(const LayerWeights& L, Acts& A, const float* in, float* out);
  void gdn_backward(size_t l, float* dx, LayerParams& G);
  void attn_backward(size_t l, float* dx, LayerParams& G);
  void mlp_backward(const LayerWeights& L, Acts& A, const float* dout, const float* in, float* din, LayerParams& G);

  // Backward scratch, kept across calls so a training step does not re-fault freshly mapped pages.
  struct Scratch {
    std::vector<float> dx1, du, dD;             // [N, D]
    std::vector<float> dI1, dI2;                // MLP [N, I]
    std::vector<float> dn, d_o, dz;             // GDN [N, value_dim]
    std::vector<float> dcv, dqkv;               // GDN [N, conv_dim]
    std::vector<float> dbeta, dg, db, da;       // GDN [N, Hv]
    std::vector<float> dq, datt, dk, dv;        // attention [N, q_dim] / [N, kv_dim]
    std::vector<float> tmp, state;              // forward: [N, D] and one GDN / conv state
  };

  const Weights& w_;
  int64_t B_ = 0, T_ = 0, N_ = 0;
  std::vector<Acts> acts_;
  Scratch s_;
  std::vector<float> x_, dh_;   // residual stream / its gradient
  std::vector<float> xf_, hf_;  // input and output of the final norm
  std::vector<int32_t> targets_;
};

}  // namespace hyb
