#include "kernels/lm_head_loss.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/blas.h"
#include "kernels/vec_math.h"

namespace hyb {

namespace {
// The three products in the arguments' precision (f64 has only its own).
template <class F>
void mm(const LmHeadLossArgs<F>& a, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const F* A, int64_t lda,
        const F* B, int64_t ldb, F beta, F* C, int64_t ldc) {
  if constexpr (std::is_same_v<F, float>) gemm_prec(a.products, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
  else gemm<F>(ta, tb, M, N, K, F(1), A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

template <class F>
LmHeadLossResult lm_head_loss(const LmHeadLossArgs<F>& a) {
  LmHeadLossResult res;
  const int64_t R = std::max<int64_t>(1, a.block), V = a.V, D = a.D;
  // Rows without a target have no loss and no gradient, so only target rows go through the three products: an
  // evaluation context, an SFT prompt or a synthetic task's filler costs nothing here (a multiple-choice pass
  // scores a few tokens of every sequence). When every row has a target they are used in place, as before.
  std::vector<int64_t> rows;
  rows.reserve(size_t(a.N));
  for (int64_t r = 0; r < a.N; ++r)
    if (a.targets[r] >= 0) rows.push_back(r);
  const int64_t S = int64_t(rows.size());
  const bool dense = S == a.N;
  if (a.row_ce && !dense) std::fill(a.row_ce, a.row_ce + a.N, 0.0);
  if (a.dh && !dense) std::fill(a.dh, a.dh + a.N * D, F(0));
  std::vector<F> logits(size_t(std::min(R, std::max<int64_t>(S, 1)) * V));
  std::vector<F> hbuf(dense ? 0 : size_t(std::min(R, S) * D)), dhbuf(dense || !a.dh ? 0 : hbuf.size());
  std::vector<double> row_ce(static_cast<size_t>(R)), row_z(static_cast<size_t>(R));
  for (int64_t i0 = 0; i0 < S; i0 += R) {
    const int64_t n = std::min(R, S - i0);
    const int64_t* idx = rows.data() + i0;
    const F* h = a.h + i0 * D;
    if (!dense) {
      for (int64_t r = 0; r < n; ++r) std::copy_n(a.h + idx[r] * D, D, hbuf.data() + r * D);
      h = hbuf.data();
    }
    mm(a, false, true, n, V, D, h, D, a.W, D, F(0), logits.data(), V);
    // Per-row terms summed serially afterwards: a fixed reduction order keeps the loss bitwise reproducible.
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      F* l = logits.data() + r * V;
      const int32_t tgt = a.targets[idx[r]];
      const double gs = a.row_scale ? a.row_scale[idx[r]] : a.grad_scale;
      if constexpr (std::is_same_v<F, float>) {
        // One vectorised exp per logit; the row sum is accumulated in float lanes and finished in double.
        const float lt = l[tgt];
        const float m = vec::max_of(l, V);
        const double z = vec::exp_affine_sum(l, V, 1.f, m);
        const double lse = double(m) + std::log(z);
        row_ce[r] = lse - double(lt);
        row_z[r] = lse * lse;
        const float s = float(gs * (1.0 + 2.0 * a.z_loss * lse) / z);
        for (int64_t j = 0; j < V; ++j) l[j] *= s;
      } else {
        F m = l[0];
        for (int64_t j = 1; j < V; ++j) m = std::max(m, l[j]);
        double z = 0;
        for (int64_t j = 0; j < V; ++j) z += std::exp(double(l[j] - m));
        const double lse = double(m) + std::log(z);
        row_ce[r] = lse - double(l[tgt]);
        row_z[r] = lse * lse;
        // d/dlogit of (lse − l_t + z·lse²) = softmax · (1 + 2 z lse) − onehot
        const double s = gs * (1.0 + 2.0 * a.z_loss * lse);
        for (int64_t j = 0; j < V; ++j) l[j] = F(s * std::exp(double(l[j]) - lse));
      }
      l[tgt] -= F(gs);
    }
    for (int64_t r = 0; r < n; ++r) {
      if (a.row_ce) a.row_ce[idx[r]] = row_ce[r];
      res.ce_sum += row_ce[r];
      res.z_sum += row_z[r];
      ++res.count;
    }
    if (a.dh) {
      F* dh = dense ? a.dh + i0 * D : dhbuf.data();
      mm(a, false, false, n, D, V, logits.data(), V, a.W, D, F(0), dh, D);
      if (!dense)
        for (int64_t r = 0; r < n; ++r) std::copy_n(dhbuf.data() + r * D, D, a.dh + idx[r] * D);
    }
    if (a.dW) mm(a, true, false, V, D, n, logits.data(), V, h, D, F(1), a.dW, D);
  }
  return res;
}

template LmHeadLossResult lm_head_loss<float>(const LmHeadLossArgs<float>&);
template LmHeadLossResult lm_head_loss<double>(const LmHeadLossArgs<double>&);

}  // namespace hyb
