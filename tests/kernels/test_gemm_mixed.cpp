// The mixed-precision GEMM against a float64 product of the same bf16-rounded operands, for every transpose
// combination and shapes with tails (odd K, M and N not multiples of the 8-row blocks or 48-wide panels).
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/gemm_mixed.h"
#include "test_util.h"

using namespace hyb;

namespace {

std::vector<float> rnd(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

float r16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

}  // namespace

TEST(GemmMixed, MatchesF64OnRoundedOperandsForAllTransposes) {
  struct Shape { int64_t M, N, K; };
  for (Shape s : {Shape{1, 1, 1}, Shape{5, 7, 3}, Shape{19, 53, 37}, Shape{64, 96, 256}, Shape{130, 100, 515}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.f, 1.f}) {
          const int64_t M = s.M, N = s.N, K = s.K;
          // Storage with a row stride larger than the logical width, so ld is really used.
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
          const auto A = rnd(size_t((ta ? K : M) * lda), 1 + ta), B = rnd(size_t((tb ? N : K) * ldb), 3 + tb);
          auto C = rnd(size_t(M * ldc), 7);
          const auto C0 = C;
          gemm_bf16(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          double worst = 0;
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              double ref = beta != 0.f ? C0[size_t(m * ldc + n)] : 0.0, mag = 0;
              for (int64_t k = 0; k < K; ++k) {
                const double a = r16(ta ? A[size_t(k * lda + m)] : A[size_t(m * lda + k)]);
                const double b = r16(tb ? B[size_t(n * ldb + k)] : B[size_t(k * ldb + n)]);
                ref += a * b;
                mag += std::abs(a * b);
              }
              // Rounded operands multiply exactly in f32; only the f32 sums differ from f64.
              const double scale = bf16_products_available() ? mag + 1 : 1e30;
              worst = std::max(worst, std::abs(C[size_t(m * ldc + n)] - ref) / scale);
            }
          EXPECT_LT(worst, 1e-5) << "M=" << M << " N=" << N << " K=" << K << " ta=" << ta << " tb=" << tb
                                 << " beta=" << beta;
          // Padding between rows is never written.
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = N; n < ldc; ++n) EXPECT_EQ(C[size_t(m * ldc + n)], C0[size_t(m * ldc + n)]);
        }
  }
}

// Without AVX512-BF16 the products fall back to f32; with it, rounding is really applied (the result differs
// from an f32 product of the unrounded operands by about bf16's relative precision).
TEST(GemmMixed, RoundsTheOperandsWhenAvailable) {
  const int64_t M = 32, N = 48, K = 64;
  const auto A = rnd(size_t(M * K), 11), B = rnd(size_t(N * K), 12);
  std::vector<float> c16(size_t(M * N)), c32(size_t(M * N));
  gemm_bf16(false, true, M, N, K, A.data(), K, B.data(), K, 0.f, c16.data(), N);
  gemm_prec(Precision::F32, false, true, M, N, K, A.data(), K, B.data(), K, 0.f, c32.data(), N);
  const double d = test::max_abs_diff(c16, c32);
  if (bf16_products_available()) {
    EXPECT_GT(d, 1e-3);
    EXPECT_LT(d, 0.5);
  } else {
    EXPECT_LT(d, 1e-4);
  }
}

TEST(GemmMixed, ParsePrecision) {
  EXPECT_EQ(parse_precision("bf16", "x"), Precision::BF16);
  EXPECT_EQ(parse_precision("f32", "x"), Precision::F32);
  EXPECT_THROW(parse_precision("fp16", "RUN.json: field \"precision\""), std::exception);
}
