#include "kernels/lm_head_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/blas.h"

namespace hyb {

template <class F>
LmHeadLossResult lm_head_loss(const LmHeadLossArgs<F>& a) {
  LmHeadLossResult res;
  const int64_t R = std::max<int64_t>(1, a.block), V = a.V, D = a.D;
  std::vector<F> logits(size_t(R * V));
  for (int64_t r0 = 0; r0 < a.N; r0 += R) {
    const int64_t n = std::min(R, a.N - r0);
    const F* h = a.h + r0 * D;
    gemm<F>(false, true, n, V, D, F(1), h, D, a.W, D, F(0), logits.data(), V);
    double ce = 0, zs = 0;
    int64_t cnt = 0;
#pragma omp parallel for schedule(static) reduction(+ : ce, zs, cnt)
    for (int64_t r = 0; r < n; ++r) {
      F* l = logits.data() + r * V;
      const int32_t tgt = a.targets[r0 + r];
      if (tgt < 0) {  // no loss: no gradient either
        std::fill(l, l + V, F(0));
        continue;
      }
      F m = l[0];
      for (int64_t j = 1; j < V; ++j) m = std::max(m, l[j]);
      double z = 0;
      for (int64_t j = 0; j < V; ++j) z += std::exp(double(l[j] - m));
      const double lse = double(m) + std::log(z);
      ce += lse - double(l[tgt]);
      zs += lse * lse;
      ++cnt;
      // d/dlogit of (lse − l_t + z·lse²) = softmax · (1 + 2 z lse) − onehot
      const double s = a.grad_scale * (1.0 + 2.0 * a.z_loss * lse);
      for (int64_t j = 0; j < V; ++j) l[j] = F(s * std::exp(double(l[j]) - lse));
      l[tgt] -= F(a.grad_scale);
    }
    res.ce_sum += ce;
    res.z_sum += zs;
    res.count += cnt;
    if (a.dh) gemm<F>(false, false, n, D, V, F(1), logits.data(), V, a.W, D, F(0), a.dh + r0 * D, D);
    if (a.dW) gemm<F>(true, false, V, D, n, F(1), logits.data(), V, h, D, F(1), a.dW, D);
  }
  return res;
}

template LmHeadLossResult lm_head_loss<float>(const LmHeadLossArgs<float>&);
template LmHeadLossResult lm_head_loss<double>(const LmHeadLossArgs<double>&);

}  // namespace hyb
