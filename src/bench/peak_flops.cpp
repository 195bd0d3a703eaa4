#include "bench/peak_flops.h"

#include <algorithm>
#include <vector>

#include "core/timer.h"
#include "kernels/blas.h"
#include "kernels/gemm_mixed.h"

namespace hyb {

double measure_gemm_gflops(int n, int reps, Precision p) {
  const size_t nn = size_t(n) * size_t(n);
  std::vector<float> a(nn), b(nn), c(nn);
  for (size_t i = 0; i < nn; ++i) {
    a[i] = float(i % 7) * 0.1f;
    b[i] = float(i % 5) * 0.1f;
  }
  double best = 1e30;
  for (int r = -1; r < reps; ++r) {
    Timer t;
    gemm_prec(p, false, true, n, n, n, a.data(), n, b.data(), n, 0.f, c.data(), n);
    if (r >= 0) best = std::min(best, t.seconds());
  }
  return 2.0 * double(n) * double(n) * double(n) / best / 1e9;
}

double measure_sgemm_gflops(int n, int reps) { return measure_gemm_gflops(n, reps, Precision::F32); }

}  // namespace hyb
