// Fused lm_head + softmax cross-entropy, forward and backward in one pass over row blocks, so the [rows, vocab]
// logits only ever exist for `block` rows at a time.
#pragma once
#include <cstdint>

#include "kernels/gemm_mixed.h"

namespace hyb {

template <class F>
struct LmHeadLossArgs {
  const F* h; int64_t N, D;   // final hidden states [N, D]
  const F* W; int64_t V;      // lm_head [V, D] (HF layout: logits = h · Wᵀ)
  const int32_t* targets;     // [N]; a negative target marks a row without loss
  double grad_scale;          // usually 1 / (number of targets): the loss is a mean
  double z_loss = 0;          // adds z_loss · lse² per target row (OLMo's z-loss); 0 = off
  const double* row_scale = nullptr;  // [N] per-row gradient scale replacing grad_scale (weighted objectives)
  double* row_ce = nullptr;   // [N] written: each row's (lse − logit[target]), 0 for rows without a target
  F* dh = nullptr;            // [N, D] written; null = loss only
  F* dW = nullptr;            // [V, D] accumulated; null = skip
  int64_t block = 256;
  Precision products = Precision::F32;  // f32 only: BF16 = mixed-precision products (kernels/gemm_mixed.h)
};

struct LmHeadLossResult {
  double ce_sum = 0;   // Σ over target rows of (lse − logit[target])
  double z_sum = 0;    // Σ over target rows of lse²
  int64_t count = 0;   // number of target rows
};

template <class F> LmHeadLossResult lm_head_loss(const LmHeadLossArgs<F>& a);

}  // namespace hyb
