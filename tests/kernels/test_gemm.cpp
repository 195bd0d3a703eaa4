#include <random>

#include "kernels/gemm.h"
#include "test_util.h"

using namespace hyb;

namespace {
void check(DType dt, int64_t M, int64_t N, int64_t K, float beta) {
  std::mt19937 rng(uint32_t(M * 131 + N));
  std::normal_distribution<float> n01;
  const int64_t ldx = K + 3, ldy = N + 5;  // strided rows, as the GDN q|k|v layout uses
  std::vector<float> x(size_t(M * ldx)), wf(size_t(N * K)), y(size_t(M * ldy));
  for (auto& e : x) e = n01(rng);
  for (auto& e : wf) e = n01(rng);
  for (auto& e : y) e = n01(rng);
  std::vector<uint16_t> wb(wf.size());
  if (dt == DType::BF16)
    for (size_t i = 0; i < wf.size(); ++i) wf[i] = bf16_to_f32(wb[i] = f32_to_bf16(wf[i]));
  WeightMat W{dt, dt == DType::F32 ? static_cast<const void*>(wf.data()) : wb.data(), N, K};
  std::vector<float> want = y;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += double(x[m * ldx + k]) * wf[n * K + k];
      want[m * ldy + n] = float(acc + (beta != 0 ? double(y[m * ldy + n]) : 0.0));
    }
  linear(x.data(), M, ldx, W, y.data(), ldy, beta);
  double err = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) err = std::max(err, double(std::fabs(y[m * ldy + n] - want[m * ldy + n])));
  EXPECT_LT(err, 1e-4 * std::sqrt(double(K))) << dtype_name(dt) << " M=" << M << " N=" << N << " K=" << K;
  // Padding between rows is untouched.
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = N; n < ldy; ++n) EXPECT_EQ(y[m * ldy + n], want[m * ldy + n]);
}
}  // namespace

TEST(Gemm, F32) {
  for (int64_t M : {1, 2, 37}) check(DType::F32, M, 67, 129, 0.f);
  check(DType::F32, 5, 16, 64, 1.f);
}

TEST(Gemm, Bf16MatvecAndTiles) {
  for (int64_t M : {1, 2, 3, 4, 5, 8, 9, 64}) check(DType::BF16, M, 300, 77, 0.f);
  check(DType::BF16, 3, 33, 40, 1.f);
  check(DType::BF16, 20, 33, 40, 1.f);
}
