// Linear projections over a batch's row groups (model/batch.h): row-wise groups go to linear_rowwise (batch
// invariant), GEMM groups to linear. Within a stacked-mode GEMM group, outputs whose weight matrices lie back to back in
// memory and whose columns are adjacent in y (q|k|v, gate|up in the trainer's parameter arena) run as one GEMM.
#pragma once
#include <initializer_list>
#include <vector>

#include "kernels/gemm.h"
#include "model/batch.h"

namespace hyb {

// y_i[r] = x[r] · W_iᵀ for every row r of the groups (beta 0).
void project(const std::vector<RowGroup>& groups, const float* x, int64_t ldx, std::initializer_list<LinearOut> outs);
// y[r] = beta·y[r] + x[r] · Wᵀ.
void project(const std::vector<RowGroup>& groups, const float* x, int64_t ldx, const WeightMat& W, float* y,
             int64_t ldy, float beta = 0.f);

// The matrices as one [Σ rows, cols] F32 matrix when they (and, if given, their gradient buffers) lie back to back
// in memory; rows = 0 when they do not.
WeightMat stacked_weights(std::span<const WeightMat* const> ms, std::span<float* const> grads = {});

}  // namespace hyb
