// Small helpers shared by the layers' backward passes.
#pragma once
#include "kernels/gemm.h"
#include "kernels/gemm_mixed.h"

namespace hyb {

// dx (+)= dy · W and dW += dyᵀ · x for one nn.Linear; W is F32 [out, in]. Both products in the matrix's
// precision (W.products), as its forward was.
inline void linear_bwd(const float* dy, int64_t M, int64_t lddy, const float* x, int64_t ldx, const WeightMat& W,
                       float* dW, float* dx, int64_t lddx, bool accumulate) {
  gemm_prec(W.products, false, false, M, W.cols, W.rows, dy, lddy, W.f32(), W.cols, accumulate ? 1.f : 0.f, dx, lddx);
  gemm_prec(W.products, true, false, W.rows, W.cols, M, dy, lddy, x, ldx, 1.f, dW, W.cols);
}

}  // namespace hyb
