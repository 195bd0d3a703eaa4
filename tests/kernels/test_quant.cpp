// Block quantization formats and the quantized matvec/GEMM, against float64 references computed here from the
// definitions in kernels/quant_formats.h (not from the code under test).
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/quant_formats.h"
#include "kernels/quant_matmul.h"
#include "test_util.h"

using namespace hyb;

namespace {

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct Quantized {
  std::vector<uint8_t> q;       // disk format
  std::vector<uint16_t> sc;
  std::vector<uint8_t> packed;  // memory format
  std::vector<float> deq;       // [N, K] dequantized from the disk format
  WeightMat mat() const { return WeightMat{type, packed.data(), N, K}; }
  DType type;
  int64_t N, K;
};

Quantized quantize(DType t, const std::vector<float>& w, int64_t N, int64_t K) {
  Quantized r;
  r.type = t;
  r.N = N;
  r.K = K;
  const int64_t rb = quant_disk_row_bytes(t, K), nb = quant_blocks(K);
  r.q.resize(size_t(N * rb));
  r.sc.resize(size_t(N * nb));
  r.deq.resize(size_t(N * K));
  for (int64_t n = 0; n < N; ++n) {
    quantize_row(t, w.data() + n * K, K, r.q.data() + n * rb, r.sc.data() + n * nb);
    dequantize_row(t, r.q.data() + n * rb, r.sc.data() + n * nb, K, r.deq.data() + n * K);
  }
  r.packed.resize(quant_matrix_bytes(t, N, K));
  quant_pack(t, r.q.data(), r.sc.data(), N, K, r.packed.data());
  return r;
}

class QuantFormat : public ::testing::TestWithParam<DType> {};

}  // namespace

// Scale within f16 rounding of the float64 block scale; every weight within the format's rounding bound.
TEST_P(QuantFormat, RoundTripErrorBounds) {
  const DType t = GetParam();
  const int64_t N = 9, K = 100;  // K = 3 full blocks + a padded block of 4
  auto w = randn(size_t(N * K), 1, 0.05f);
  w[5] = 0.9f;  // an outlier block
  const Quantized q = quantize(t, w, N, K);
  const int64_t nb = quant_blocks(K);
  ASSERT_EQ(nb, 4);
  int mismatches = 0;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k0 = b * 32, k1 = std::min<int64_t>(K, k0 + 32);
      double amax = 0, extreme = 0;
      for (int64_t k = k0; k < k1; ++k)
        if (std::fabs(double(w[size_t(n * K + k)])) > amax) {
          amax = std::fabs(double(w[size_t(n * K + k)]));
          extreme = w[size_t(n * K + k)];
        }
      const double d_ref = t == DType::Q8_0 ? amax / 127.0 : extreme / -8.0;
      const double d = f16_to_f32(q.sc[size_t(n * nb + b)]);
      EXPECT_LE(std::fabs(d - d_ref), std::fabs(d_ref) * std::ldexp(1.0, -11)) << "row " << n << " block " << b;
      for (int64_t k = k0; k < k1; ++k) {
        const double x = w[size_t(n * K + k)], y = q.deq[size_t(n * K + k)];
        // Q4_0 clamps +8 to +7 (the side opposite the extreme): up to one step of error there.
        const double bound = (t == DType::Q8_0 ? 0.5 : 1.0) * std::fabs(d) * (1 + 1e-6) + 1e-12;
        EXPECT_LE(std::fabs(x - y), bound) << "row " << n << " k " << k;
        const double lo = t == DType::Q8_0 ? -127 : -8, hi = t == DType::Q8_0 ? 127 : 7;
        const double q_ref = std::clamp(std::nearbyint(x / d), lo, hi);
        mismatches += std::fabs(y - q_ref * d) > 1e-12;
      }
    }
  }
  EXPECT_LE(mismatches, 2);  // only exact .5 ties may round differently in f32 vs f64
}

TEST_P(QuantFormat, ZeroBlocksAndBadWeights) {
  const DType t = GetParam();
  std::vector<float> w(64, 0.f);
  std::vector<uint8_t> q(size_t(quant_disk_row_bytes(t, 64)));
  std::vector<uint16_t> sc(2);
  quantize_row(t, w.data(), 64, q.data(), sc.data());
  std::vector<float> back(64, 1.f);
  dequantize_row(t, q.data(), sc.data(), 64, back.data());
  for (float v : back) EXPECT_EQ(v, 0.f);
  w[3] = NAN;
  EXPECT_THROW(quantize_row(t, w.data(), 64, q.data(), sc.data()), Error);
  w[3] = 1e9f;  // scale beyond f16
  EXPECT_THROW(quantize_row(t, w.data(), 64, q.data(), sc.data()), Error);
}

// The memory format holds exactly the disk format's values (including padded rows and columns).
TEST_P(QuantFormat, PackUnpackMatchesDisk) {
  const DType t = GetParam();
  const int64_t N = 37, K = 100;
  const Quantized q = quantize(t, randn(size_t(N * K), 2), N, K);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    quant_unpack_row(t, q.packed.data(), N, K, n, row.data());
    for (int64_t k = 0; k < K; ++k) ASSERT_EQ(row[size_t(k)], q.deq[size_t(n * K + k)]) << n << "," << k;
    weight_row_f32(q.mat(), n, row.data());
    for (int64_t k = 0; k < K; ++k) ASSERT_EQ(row[size_t(k)], q.deq[size_t(n * K + k)]);
  }
}

// One output in float64 over the dequantized weights, and the bound of the int8 activation rounding: half a block
// step per element, Σ_k |Wq[n,k]| · amax_b(x) / 254 (plus a little for f32 accumulation).
std::pair<double, double> int8_reference(const float* x, const float* wq, int64_t K) {
  double ref = 0, bound = 1e-5;
  for (int64_t k0 = 0; k0 < K; k0 += 32) {
    const int64_t k1 = std::min(K, k0 + 32);
    double amax = 0;
    for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(double(x[k])));
    for (int64_t k = k0; k < k1; ++k) {
      ref += double(x[k]) * wq[k];
      bound += std::fabs(double(wq[k])) * amax / 254.0 * 1.001;
    }
  }
  return {ref, bound};
}

// Matvec against float64 sums over the dequantized weights. The only other error is the int8 activation rounding,
// bounded per element by half its block step: |err| <= Σ_k |Wq[n,k]| · amax_b(x) / 254.
TEST_P(QuantFormat, MatvecMatchesDequantizedReference) {
  const DType t = GetParam();
  for (int64_t K : {32, 100, 1024}) {
    for (int64_t M : {1, 3, 5, 8, 9, 21}) {  // one 8-row tile, partial tiles, several tiles
      const int64_t N = 45;
      const Quantized q = quantize(t, randn(size_t(N * K), uint64_t(K + M), 0.05f), N, K);
      const auto x = randn(size_t(M * K), uint64_t(7 * K + M));
      std::vector<float> y(size_t(M * N), 0.5f);
      linear(x.data(), M, q.mat(), y.data(), 1.f);  // beta = 1 accumulates
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
          const auto [ref, bound] = int8_reference(x.data() + m * K, q.deq.data() + n * K, K);
          ASSERT_NEAR(y[size_t(m * N + n)], 0.5 + ref, bound) << "K " << K << " M " << M << " m " << m << " n " << n;
        }
      }
    }
  }
}

// Against the original f32 weights: the format's own error, as relative RMS of the outputs.
TEST_P(QuantFormat, MatvecNearFloatWeights) {
  const DType t = GetParam();
  const int64_t N = 256, K = 1024, M = 2;
  const auto w = randn(size_t(N * K), 11, 0.02f);
  const auto x = randn(size_t(M * K), 12);
  const Quantized q = quantize(t, w, N, K);
  std::vector<float> y(size_t(M * N));
  linear(x.data(), M, q.mat(), y.data());
  double e2 = 0, r2 = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0;
      for (int64_t k = 0; k < K; ++k) ref += double(x[size_t(m * K + k)]) * w[size_t(n * K + k)];
      e2 += (y[size_t(m * N + n)] - ref) * (y[size_t(m * N + n)] - ref);
      r2 += ref * ref;
    }
  const double rel = std::sqrt(e2 / r2);
  RecordProperty("rel_rms", std::to_string(rel));
  // Gaussian blocks: Q8_0 step ≈ 2.5σ/127 (≈0.6% RMS), Q4_0 step ≈ 2.5σ/8 (≈9% RMS).
  EXPECT_LT(rel, t == DType::Q8_0 ? 0.015 : 0.15);
  EXPECT_GT(rel, t == DType::Q8_0 ? 0.001 : 0.03);  // the quantization really happened
}

// The VNNI kernel and the scalar fallback do the same integer sums and f32 operations: identical bits.
TEST_P(QuantFormat, VnniMatchesScalar) {
  if (!quant_vnni_supported()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const DType t = GetParam();
  for (int64_t K : {200, 1024}) {  // a partial last block (scalar quantizer), and full blocks only
  const int64_t N = 50;
  const Quantized q = quantize(t, randn(size_t(N * K), 21), N, K);
  for (int64_t M : {1, 2, 3, 4, 7, 8, 9, 17, 40}) {
    const auto x = randn(size_t(M * K), uint64_t(22 + M));
    std::vector<float> a(size_t(M * N)), b(size_t(M * N));
    set_quant_kernel(QuantKernel::Vnni);
    quant_matvec(x.data(), M, K, q.mat(), a.data(), N, 0.f);
    set_quant_kernel(QuantKernel::Scalar);
    quant_matvec(x.data(), M, K, q.mat(), b.data(), N, 0.f);
    set_quant_kernel(QuantKernel::Auto);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "K " << K << " M " << M << " i " << i;
  }
  }
}

// Fast compute, prompt-sized M: the int8 GEMM (activations quantized per 32-block). Against float64 over the
// dequantized weights within the int8 rounding bound, and row-wise: each row equals that row computed alone
// (batch-invariant), so a prompt's logits do not depend on how it is split into forward calls.
TEST_P(QuantFormat, Int8GemmMatchesReferenceAndIsRowWise) {
  const DType t = GetParam();
  const int64_t N = 70, K = 1000, M = 77, ldx = K + 3, ldy = N + 5;
  const Quantized q = quantize(t, randn(size_t(N * K), 41, 0.05f), N, K);
  const auto x = randn(size_t(M * ldx), 42);
  std::vector<float> y(size_t(M * ldy), 0.f), one(static_cast<size_t>(N));
  set_compute(Compute::Fast);
  linear(x.data(), M, ldx, q.mat(), y.data(), ldy);
  for (int64_t m = 0; m < M; ++m) {
    linear(x.data() + m * ldx, 1, ldx, q.mat(), one.data(), N);
    for (int64_t n = 0; n < N; ++n) {
      ASSERT_EQ(y[size_t(m * ldy + n)], one[size_t(n)]) << "row " << m << " col " << n;
      const auto [ref, bound] = int8_reference(x.data() + m * ldx, q.deq.data() + n * K, K);
      ASSERT_NEAR(y[size_t(m * ldy + n)], ref, bound) << "m " << m << " n " << n;
    }
  }
  set_compute(Compute::Exact);
}

// Exact compute, prefill (M > 32): weights widened to f32 for SGEMM, activations stay f32: matches the
// dequantized reference to f32 rounding.
TEST_P(QuantFormat, GemmMatchesDequantizedReference) {
  const DType t = GetParam();
  const int64_t N = 70, K = 100, M = 41, ldx = K + 3, ldy = N + 5;
  const Quantized q = quantize(t, randn(size_t(N * K), 31), N, K);
  const auto x = randn(size_t(M * ldx), 32);
  std::vector<float> y(size_t(M * ldy), 0.f);
  linear(x.data(), M, ldx, q.mat(), y.data(), ldy);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        ref += double(x[size_t(m * ldx + k)]) * q.deq[size_t(n * K + k)];
        mag += std::fabs(double(x[size_t(m * ldx + k)]) * q.deq[size_t(n * K + k)]);
      }
      ASSERT_NEAR(y[size_t(m * ldy + n)], ref, 1e-6 * mag + 1e-7);
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantFormat, ::testing::Values(DType::Q8_0, DType::Q4_0),
                         [](const auto& info) { return std::string(info.param == DType::Q8_0 ? "Q8_0" : "Q4_0"); });
