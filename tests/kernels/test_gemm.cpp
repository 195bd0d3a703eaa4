#include <cstring>
#include <random>

#include "kernels/gemm.h"
#include "test_util.h"

using namespace hyb;

namespace {
using test::ComputeScope;

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
  ComputeScope exact(Compute::Exact);  // exact against f32 compute on the rounded weights
  for (int64_t M : {1, 2, 3, 4, 5, 8, 9, 64}) check(DType::BF16, M, 300, 77, 0.f);
  check(DType::BF16, 3, 33, 40, 1.f);
  check(DType::BF16, 20, 33, 40, 1.f);
}

namespace {
// Fast mode rounds activations to bf16 as well: compare with a float64 product of the rounded activations and
// weights, which leaves only f32 accumulation error.
void check_fast(int64_t M, int64_t N, int64_t K, float beta) {
  std::mt19937 rng(uint32_t(M * 7 + N * 13 + K));
  std::normal_distribution<float> n01;
  const int64_t ldx = K + 3, ldy = N + 5;
  std::vector<float> x(size_t(M * ldx)), y(size_t(M * ldy));
  std::vector<uint16_t> wb(size_t(N * K));
  for (auto& e : x) e = n01(rng);
  for (auto& e : wb) e = f32_to_bf16(n01(rng));
  for (auto& e : y) e = n01(rng);
  std::vector<float> want = y;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += double(bf16_to_f32(f32_to_bf16(x[m * ldx + k]))) * bf16_to_f32(wb[n * K + k]);
      want[m * ldy + n] = float(acc + (beta != 0 ? double(y[m * ldy + n]) : 0.0));
    }
  WeightMat W{DType::BF16, wb.data(), N, K};
  linear(x.data(), M, ldx, W, y.data(), ldy, beta);
  double err = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) err = std::max(err, double(std::fabs(y[m * ldy + n] - want[m * ldy + n])));
  EXPECT_LT(err, 2e-5 * std::sqrt(double(K))) << "M=" << M << " N=" << N << " K=" << K << " beta=" << beta;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = N; n < ldy; ++n) EXPECT_EQ(y[m * ldy + n], want[m * ldy + n]);
}
}  // namespace

TEST(Gemm, Bf16FastMatchesRoundedProduct) {
  ComputeScope fast(Compute::Fast);
  if (!bf16_fast_active()) GTEST_SKIP() << "CPU lacks AVX512-BF16";
  // M <= 8: the row-wise dpbf16 kernel; larger M: the packed panel GEMM. Both round the activations.
  for (int64_t M : {1, 2, 3, 4, 5, 8, 9, 16, 17, 64})
    for (int64_t K : {77, 64, 33, 1000}) check_fast(M, 97, K, 0.f);
  check_fast(3, 33, 40, 1.f);
  check_fast(9, 4100, 256, 1.f);  // many panels over the threads, residual accumulate
  check_fast(40, 7, 130, 1.f);    // one partial panel
  check_fast(13, 200, 31, 1.f);
}

TEST(Gemm, LinearMultiMatchesSeparateCalls) {
  for (Compute mode : {Compute::Fast, Compute::Exact}) {
    ComputeScope scope(mode);
    for (int64_t M : {1, 3, 8, 12}) {
      std::mt19937 rng{uint32_t(M)};
      std::normal_distribution<float> n01;
      const int64_t K = 96;
      const int64_t rows[3] = {130, 8, 61};
      std::vector<std::vector<uint16_t>> w(3);
      std::vector<WeightMat> W(3);
      for (int i = 0; i < 3; ++i) {
        w[i].resize(size_t(rows[i] * K));
        for (auto& e : w[i]) e = f32_to_bf16(n01(rng));
        W[i] = WeightMat{DType::BF16, w[i].data(), rows[i], K};
      }
      std::vector<float> x(size_t(M * K));
      for (auto& e : x) e = n01(rng);
      std::vector<std::vector<float>> got(3), want(3);
      std::vector<LinearOut> outs;
      for (int i = 0; i < 3; ++i) {
        got[i].assign(size_t(M * rows[i]), -7.f);
        want[i].assign(got[i].size(), 0.f);
        linear(x.data(), M, W[i], want[i].data());
        outs.push_back({&W[i], got[i].data(), rows[i]});
      }
      linear_multi(x.data(), M, K, outs.data(), 3);
      for (int i = 0; i < 3; ++i) EXPECT_LT(test::max_abs_diff(got[i], want[i]), 1e-5) << "M=" << M << " i=" << i;
    }
  }
}

TEST(Gemm, RowwiseIsBatchInvariantInBothModes) {
  // Every row of linear_rowwise equals that row computed alone, bit for bit, for any M (the decode rows of many
  // sequences share one call in the server).
  for (Compute mode : {Compute::Exact, Compute::Fast})
    for (DType dt : {DType::F32, DType::BF16}) {
      ComputeScope scope(mode);
      std::mt19937 rng(7);
      std::normal_distribution<float> n01;
      // M picks the kernel's tile shapes (fast BF16: 1 row takes one weight row at a time; 2-4 rows four, 5+ rows
      // three in passes of up to 8 activation rows); N = 131 leaves weight rows over for both (131 = 4·32 + 3 =
      // 3·43 + 2), K = 200 a partial k step.
      const int64_t N = 131, K = 200, Mmax = 17;
      std::vector<float> wf(size_t(N * K)), x(size_t(Mmax * K));
      std::vector<uint16_t> wb(wf.size());
      for (size_t i = 0; i < wf.size(); ++i) wf[i] = bf16_to_f32(wb[i] = f32_to_bf16(n01(rng)));
      for (auto& e : x) e = n01(rng);
      WeightMat W{dt, dt == DType::F32 ? static_cast<const void*>(wf.data()) : wb.data(), N, K};
      std::vector<float> one(static_cast<size_t>(Mmax * N));
      for (int64_t m = 0; m < Mmax; ++m) linear_rowwise(x.data() + m * K, 1, K, W, one.data() + m * N, N);
      for (int64_t M : {2, 3, 4, 5, 8, 11, 17}) {
        std::vector<float> all(static_cast<size_t>(M * N));
        linear_rowwise(x.data(), M, K, W, all.data(), N);
        for (int64_t m = 0; m < M; ++m)
          ASSERT_EQ(0, std::memcmp(one.data() + m * N, all.data() + m * N, size_t(N) * 4))
              << compute_name(mode) << " " << dtype_name(dt) << " M " << M << " row " << m;
      }
    }
}
