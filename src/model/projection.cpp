#include "model/projection.h"

namespace hyb {

WeightMat stacked_weights(std::span<const WeightMat* const> ms, std::span<float* const> grads) {
  WeightMat r = *ms[0];
  r.rows = 0;
  const float* next = r.f32();
  const float* gnext = grads.empty() ? nullptr : grads[0];
  for (size_t i = 0; i < ms.size(); ++i) {
    const WeightMat* m = ms[i];
    if (m->dtype != DType::F32 || m->products != r.products || m->f32() != next || m->cols != r.cols || (gnext && grads[i] != gnext))
      return WeightMat{};
    next += m->rows * m->cols;
    if (gnext) gnext += m->rows * m->cols;
    r.rows += m->rows;
  }
  return r;
}

namespace {
// Runs [i, j) of outs as one GEMM when their weights are stacked and their outputs adjacent.
bool fusable(const LinearOut* outs, size_t i, size_t j) {
  for (size_t t = i + 1; t < j; ++t)
    if (outs[t].ldy != outs[i].ldy || outs[t].y != outs[t - 1].y + outs[t - 1].W->rows) return false;
  std::vector<const WeightMat*> ms;
  for (size_t t = i; t < j; ++t) ms.push_back(outs[t].W);
  return stacked_weights(ms).rows > 0;
}
}  // namespace

void project(const std::vector<RowGroup>& groups, const float* x, int64_t ldx, std::initializer_list<LinearOut> outs) {
  const LinearOut* o = outs.begin();
  const size_t n = outs.size();
  for (const RowGroup& g : groups) {
    const float* xg = x + g.r0 * ldx;
    std::vector<LinearOut> shifted(o, o + n);
    for (auto& s : shifted) s.y += g.r0 * s.ldy;
    if (g.rowwise) {
      linear_rowwise_multi(xg, g.n, ldx, shifted.data(), int(n));
      continue;
    }
    // GEMM group: maximal runs of fusable outputs become one GEMM each; the rest go together to linear_multi.
    std::vector<LinearOut> rest;
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (g.fuse && j < n && fusable(shifted.data(), i, j + 1)) ++j;
      if (j - i > 1) {
        std::vector<const WeightMat*> ms;
        for (size_t t = i; t < j; ++t) ms.push_back(shifted[t].W);
        linear(xg, g.n, ldx, stacked_weights(ms), shifted[i].y, shifted[i].ldy);
      } else {
        rest.push_back(shifted[i]);
      }
      i = j;
    }
    if (!rest.empty()) linear_multi(xg, g.n, ldx, rest.data(), int(rest.size()));
  }
}

void project(const std::vector<RowGroup>& groups, const float* x, int64_t ldx, const WeightMat& W, float* y,
             int64_t ldy, float beta) {
  for (const RowGroup& g : groups) {
    if (g.rowwise) linear_rowwise(x + g.r0 * ldx, g.n, ldx, W, y + g.r0 * ldy, ldy, beta);
    else linear(x + g.r0 * ldx, g.n, ldx, W, y + g.r0 * ldy, ldy, beta);
  }
}

}  // namespace hyb
