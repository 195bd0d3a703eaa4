// Small helpers shared by the layers' backward passes.
#pragma once
#include "kernels/gemm.h"
#include "kernels/linear_backward.h"

namespace hyb {

// dx (+)= dy · W and dW += dyᵀ · x for one nn.Linear; W is F32 [out, in]. Both products in the matrix's
// precision (W.products), as its forward was.
inline void linear_bwd(const float* dy, int64_t M, int64_t lddy, const float* x, int64_t ldx, const WeightMat& W,
                       float* dW, float* dx, int64_t lddx, bool accumulate) {
  if (W.products == Precision::BF16) {
    gemm_bf16(false, false, M, W.cols, W.rows, dy, lddy, W.f32(), W.cols, accumulate ? 1.f : 0.f, dx, lddx);
    gemm_bf16(true, false, W.rows, W.cols, M, dy, lddy, x, ldx, 1.f, dW, W.cols);
    return;
  }
  linear_backward_input<float>(dy, M, lddy, W.f32(), W.rows, W.cols, dx, lddx, accumulate ? 1.f : 0.f);
  linear_backward_weight<float>(dy, M, lddy, x, ldx, dW, W.rows, W.cols);
}

}  // namespace hyb
