// Chunked gated delta rule vs the token recurrence in float64 (spec §5.4 test recipe).
#include <cmath>
#include <random>
#include <type_traits>

#include "kernels/gdn.h"
#include "core/dtype.h"
#include "kernels/gdn_tile.h"
#include "kernels/gdn_tile_bf16.h"
#include "test_util.h"

using namespace hyb;

namespace {

struct Problem {
  int64_t T, Hk, Hv, dk, dv;
  std::vector<double> q, k, v, beta, g, s0;
};

Problem make(int64_t T, int64_t Hk, int64_t Hv, int64_t dk, int64_t dv, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01;
  std::uniform_real_distribution<double> u01;
  Problem p{T, Hk, Hv, dk, dv, {}, {}, {}, {}, {}, {}};
  auto unit_rows = [&](std::vector<double>& x, double scale) {
    x.resize(size_t(T * Hk * dk));
    for (auto& e : x) e = n01(rng);
    for (int64_t r = 0; r < T * Hk; ++r) {
      double s = 0;
      for (int64_t i = 0; i < dk; ++i) s += x[r * dk + i] * x[r * dk + i];
      for (int64_t i = 0; i < dk; ++i) x[r * dk + i] *= scale / std::sqrt(s + 1e-6);
    }
  };
  unit_rows(p.q, 1.0 / std::sqrt(double(dk)));
  unit_rows(p.k, 1.0);
  p.v.resize(size_t(T * Hv * dv));
  for (auto& e : p.v) e = n01(rng);
  p.beta.resize(size_t(T * Hv));
  p.g.resize(size_t(T * Hv));
  for (auto& e : p.beta) e = 2.0 * u01(rng);                       // β ∈ (0, 2): negative eigenvalues on
  for (auto& e : p.g) e = u01(rng) < 0.05 ? -20.0 * u01(rng) : -0.5 * u01(rng);  // mostly mild, some ≪ 0
  p.s0.resize(size_t(Hv * dk * dv));
  for (auto& e : p.s0) e = 0.3 * n01(rng);
  return p;
}

template <class F>
std::vector<F> cast(const std::vector<double>& x) {
  return std::vector<F>(x.begin(), x.end());
}

// Runs the chunked (chunk > 0) or recurrent (chunk == 0) kernel in precision F (bf16: the chunked forward with BF16
// products); returns outputs + final state.
template <class F>
std::pair<std::vector<double>, std::vector<double>> run(const Problem& p, int64_t chunk, bool bf16 = false) {
  auto q = cast<F>(p.q), k = cast<F>(p.k), v = cast<F>(p.v), b = cast<F>(p.beta), g = cast<F>(p.g), s = cast<F>(p.s0);
  std::vector<F> o(size_t(p.T * p.Hv * p.dv));
  GdnArgs<F> a{q.data(), p.Hk * p.dk, k.data(), p.Hk * p.dk, v.data(), p.Hv * p.dv, b.data(), g.data(),
               s.data(), o.data(), p.Hv * p.dv, p.T, p.Hk, p.Hv, p.dk, p.dv};
  if constexpr (std::is_same_v<F, float>)
    if (bf16) {
      gdn_chunk_forward_bf16(a, chunk);
      return {std::vector<double>(o.begin(), o.end()), std::vector<double>(s.begin(), s.end())};
    }
  if (chunk > 0) gdn_chunk_forward(a, chunk);
  else gdn_recurrent(a);
  return {std::vector<double>(o.begin(), o.end()), std::vector<double>(s.begin(), s.end())};
}

double maxdiff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

double maxabs(const std::vector<double>& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

struct Shape { int64_t Hk, Hv, dk, dv; };

}  // namespace

class GdnChunk : public ::testing::TestWithParam<std::tuple<int64_t, Shape>> {};

TEST_P(GdnChunk, Float32ChunkedMatchesFloat64Recurrence) {
  auto [T, sh] = GetParam();
  Problem p = make(T, sh.Hk, sh.Hv, sh.dk, sh.dv, 1234 + uint64_t(T));
  auto ref = run<double>(p, 0);
  auto got = run<float>(p, 64);
  // Float32 rounding scales with the magnitude of the values (|S| grows past 1 when β > 1 flips directions),
  // so the error is measured relative to max(1, max|reference|).
  EXPECT_LT(maxdiff(got.first, ref.first) / std::max(1.0, maxabs(ref.first)), 1e-5) << "outputs";
  EXPECT_LT(maxdiff(got.second, ref.second) / std::max(1.0, maxabs(ref.second)), 1e-5)
      << "final state, max|S| = " << maxabs(ref.second);
  auto dbl = run<double>(p, 64);
  EXPECT_LT(maxdiff(dbl.first, ref.first), 1e-10) << "float64 chunked vs recurrence";
  EXPECT_LT(maxdiff(dbl.second, ref.second), 1e-10);
}

// The BF16 variant rounds every product operand (8 significant bits): its error is ~1e-3 of the values' scale
// and must stay within a few 2⁻⁸ of it; and it must differ from the f32 chunk, or the variant did not run.
TEST_P(GdnChunk, Bf16ProductsStayWithinBf16RoundingOfFloat64Recurrence) {
  if (!gdn_bf16_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  auto [T, sh] = GetParam();
  Problem p = make(T, sh.Hk, sh.Hv, sh.dk, sh.dv, 1234 + uint64_t(T));
  auto ref = run<double>(p, 0);
  auto got = run<float>(p, 64, true);
  const double eo = maxdiff(got.first, ref.first) / std::max(1.0, maxabs(ref.first));
  const double es = maxdiff(got.second, ref.second) / std::max(1.0, maxabs(ref.second));
  EXPECT_LT(eo, 3e-2) << "outputs";
  EXPECT_LT(es, 3e-2) << "final state, max|S| = " << maxabs(ref.second);
  EXPECT_GT(std::max(eo, es), 1e-6) << "bf16 products gave f32 results";
}

INSTANTIATE_TEST_SUITE_P(LengthsAndHeads, GdnChunk,
                         ::testing::Combine(::testing::Values<int64_t>(1, 63, 64, 65, 200),
                                            ::testing::Values(Shape{1, 1, 16, 32}, Shape{2, 4, 8, 16},
                                                              Shape{3, 3, 32, 32}, Shape{2, 2, 48, 96},
                                                              Shape{1, 3, 48, 96}, Shape{2, 2, 20, 36},
                                                              Shape{1, 1, 128, 128}, Shape{1, 2, 7, 5})));

// The textbook recurrence written out in the test, one formula line at a time, independent of the kernels.
static std::pair<std::vector<double>, std::vector<double>> naive_recurrence(const Problem& p) {
  std::vector<double> S = p.s0, o(size_t(p.T * p.Hv * p.dv)), delta(size_t(p.dv));
  const int64_t ratio = p.Hv / p.Hk;
  for (int64_t h = 0; h < p.Hv; ++h)
    for (int64_t t = 0; t < p.T; ++t) {
      double* s = &S[size_t(h * p.dk * p.dv)];
      const double* q = &p.q[size_t((t * p.Hk + h / ratio) * p.dk)];
      const double* k = &p.k[size_t((t * p.Hk + h / ratio) * p.dk)];
      const double* v = &p.v[size_t((t * p.Hv + h) * p.dv)];
      const double decay = std::exp(p.g[size_t(t * p.Hv + h)]), beta = p.beta[size_t(t * p.Hv + h)];
      for (int64_t x = 0; x < p.dk * p.dv; ++x) s[x] *= decay;
      for (int64_t j = 0; j < p.dv; ++j) {
        double sk = 0;
        for (int64_t i = 0; i < p.dk; ++i) sk += s[i * p.dv + j] * k[i];
        delta[size_t(j)] = beta * (v[j] - sk);
      }
      for (int64_t i = 0; i < p.dk; ++i)
        for (int64_t j = 0; j < p.dv; ++j) s[i * p.dv + j] += k[i] * delta[size_t(j)];
      for (int64_t j = 0; j < p.dv; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < p.dk; ++i) acc += s[i * p.dv + j] * q[i];
        o[size_t((t * p.Hv + h) * p.dv + j)] = acc;
      }
    }
  return {o, S};
}

TEST(GdnRecurrent, MatchesTextbookRecurrence) {
  for (auto sh : {Shape{1, 1, 16, 32}, Shape{2, 4, 20, 36}, Shape{1, 2, 128, 128}, Shape{2, 2, 48, 96}})
    for (int64_t T : {1, 2, 37}) {
      Problem p = make(T, sh.Hk, sh.Hv, sh.dk, sh.dv, 77 + uint64_t(T));
      auto ref = naive_recurrence(p);
      auto dbl = run<double>(p, 0);
      EXPECT_LT(maxdiff(dbl.first, ref.first), 1e-10) << "dk=" << sh.dk << " T=" << T;
      EXPECT_LT(maxdiff(dbl.second, ref.second), 1e-10);
      auto flt = run<float>(p, 0);  // the float32 decode step
      EXPECT_LT(maxdiff(flt.first, ref.first) / std::max(1.0, maxabs(ref.first)), 1e-5);
      EXPECT_LT(maxdiff(flt.second, ref.second) / std::max(1.0, maxabs(ref.second)), 1e-5);
    }
}

TEST(GdnChunk, SingleTokenChunkedMatchesDecodeStep) {
  // Prefill of T=1 through the chunked path must agree with the decode recurrence.
  Problem p = make(1, 2, 4, 48, 96, 5);
  auto ref = naive_recurrence(p);
  auto got = run<float>(p, 64);
  EXPECT_LT(maxdiff(got.first, ref.first) / std::max(1.0, maxabs(ref.first)), 1e-5);
  EXPECT_LT(maxdiff(got.second, ref.second) / std::max(1.0, maxabs(ref.second)), 1e-5);
}

TEST(GdnChunk, ChunkSizeDoesNotMatter) {
  Problem p = make(37, 2, 4, 8, 12, 99);
  auto ref = run<double>(p, 0);
  for (int64_t C : {1, 3, 16, 64, 128}) {
    auto got = run<double>(p, C);
    EXPECT_LT(maxdiff(got.first, ref.first), 1e-10) << "C=" << C;
    EXPECT_LT(maxdiff(got.second, ref.second), 1e-10) << "C=" << C;
  }
}

TEST(GdnChunk, SplitSequenceContinuesFromState) {
  // Prefill of 100 tokens, then 70 more from the carried state == one pass over 170 tokens.
  Problem p = make(170, 2, 2, 16, 16, 7);
  auto whole = run<double>(p, 64);
  Problem a = p, b = p;
  auto slice = [](const std::vector<double>& x, int64_t row, int64_t t0, int64_t t1) {
    return std::vector<double>(x.begin() + t0 * row, x.begin() + t1 * row);
  };
  const int64_t qk = p.Hk * p.dk, vr = p.Hv * p.dv, h = p.Hv;
  a.T = 100;
  a.q = slice(p.q, qk, 0, 100); a.k = slice(p.k, qk, 0, 100); a.v = slice(p.v, vr, 0, 100);
  a.beta = slice(p.beta, h, 0, 100); a.g = slice(p.g, h, 0, 100);
  auto first = run<double>(a, 64);
  b.T = 70;
  b.q = slice(p.q, qk, 100, 170); b.k = slice(p.k, qk, 100, 170); b.v = slice(p.v, vr, 100, 170);
  b.beta = slice(p.beta, h, 100, 170); b.g = slice(p.g, h, 100, 170);
  b.s0 = first.second;
  auto second = run<double>(b, 64);
  EXPECT_LT(maxdiff(second.second, whole.second), 1e-10);
  std::vector<double> tail(whole.first.begin() + 100 * vr, whole.first.end());
  EXPECT_LT(maxdiff(second.first, tail), 1e-10);
}

// The chunk's product kernel on its own: every tail of the 8 × 32 tiles, both layouts of A, row scales, beta, and
// the two triangular shapes, against a float64 product of the same operands.
TEST(GdnTileGemm, MatchesFloat64ProductOnEveryTailAndShape) {
  using gdn_detail::Tri;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t M : {1, 7, 8, 9, 17, 64})
    for (int64_t N : {1, 15, 16, 17, 32, 33, 64, 70})
      for (int64_t K : {1, 5, 64, 65})
        for (Tri tri : {Tri::None, Tri::LowerA, Tri::UpperA, Tri::LowerC})
          for (bool transA : {false, true}) {
            if (tri == Tri::LowerA && K < M) continue;  // A square-or-wider lower triangle
            const int64_t lda = (transA ? M : K) + 3, ldb = N + 2, ldc = N + 5;
            std::vector<float> A(size_t((transA ? K : M) * lda)), B(size_t(K * ldb)), rs(static_cast<size_t>(M));
            for (auto* x : {&A, &B, &rs})
              for (auto& e : *x) e = u(rng);
            const auto at = [&](int64_t i, int64_t k) -> float& { return transA ? A[size_t(k * lda + i)] : A[size_t(i * lda + k)]; };
            for (int64_t i = 0; i < M; ++i)
              for (int64_t k = 0; k < K; ++k)
                if ((tri == Tri::LowerA && k > i) || (tri == Tri::UpperA && k < i)) at(i, k) = 0.f;
            const float beta = (M + N + K) % 2 ? 1.f : 0.f, alpha = -0.5f;
            std::vector<float> C(size_t(M * ldc), 7.f), C0 = C;
            gdn_detail::tile_gemm<float>(M, N, K, {A.data(), transA ? 1 : lda, transA ? lda : 1}, B.data(), ldb,
                                         C.data(), ldc, beta, alpha, rs.data(), tri);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                const float got = C[size_t(i * ldc + j)];
                if (j >= N) {  // the padding between rows is never written
                  EXPECT_EQ(got, 7.f);
                  continue;
                }
                if (tri == Tri::LowerC && j > i) continue;  // unspecified above the diagonal
                double ref = 0, mag = 0;
                for (int64_t k = 0; k < K; ++k) {
                  ref += double(at(i, k)) * B[size_t(k * ldb + j)];
                  mag += std::abs(double(at(i, k)) * B[size_t(k * ldb + j)]);
                }
                ref = beta * double(C0[size_t(i * ldc + j)]) + double(alpha) * rs[size_t(i)] * ref;
                ASSERT_NEAR(got, ref, 1e-6 * (mag + 8) + 1e-6)
                    << "M=" << M << " N=" << N << " K=" << K << " tri=" << int(tri) << " transA=" << transA
                    << " i=" << i << " j=" << j;
              }
          }
}

// The BF16 tile product against float64 on the same bf16-rounded operands (rounded here by core/dtype.h's scalar
// round-to-nearest-even, independent of the kernels' vector conversion): every tail, odd K, all triangle modes,
// row scales, beta, and the padding between rows never written.
TEST(GdnTileGemmBf16, MatchesFloat64ProductOfRoundedOperands) {
  if (!gdn_bf16_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  using gdn_detail::Tri;
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const auto rnd = [](float x) { return bf16_to_f32(f32_to_bf16(x)); };
  for (int64_t M : {1, 7, 8, 9, 17, 64})
    for (int64_t N : {1, 15, 16, 17, 32, 33, 70})
      for (int64_t K : {1, 5, 64, 65})
        for (Tri tri : {Tri::None, Tri::LowerA, Tri::UpperA, Tri::LowerC}) {
          if (tri == Tri::LowerA && K < M) continue;
          const int64_t Kp = K + K % 2, lda = Kp + 2, ldb = N + 3, ldc = N + 5, ldf = K + 1;
          std::vector<float> A(size_t(M * ldf)), B(size_t(K * N)), rs(static_cast<size_t>(M));
          for (auto* x : {&A, &B, &rs})
            for (auto& e : *x) e = u(rng);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < K; ++k)
              if ((tri == Tri::LowerA && k > i) || (tri == Tri::UpperA && k < i)) A[size_t(i * ldf + k)] = 0.f;
          std::vector<uint16_t> Ab(size_t(M * lda), 0xFFFF);
          std::vector<uint32_t> Bp(size_t(Kp / 2 * ldb));
          gdn_detail::round_rows_padded_bf16(M, K, Kp, A.data(), ldf, Ab.data(), lda);
          gdn_detail::pack_pairs_bf16(K, N, B.data(), N, Bp.data(), ldb);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < Kp; ++k)
              ASSERT_EQ(bf16_to_f32(Ab[size_t(i * lda + k)]), k < K ? rnd(A[size_t(i * ldf + k)]) : 0.f);
          const float beta = (M + N + K) % 2 ? 1.f : 0.f, alpha = -0.5f;
          std::vector<float> C(size_t(M * ldc), 7.f), C0 = C;
          gdn_detail::tile_gemm_bf16(M, N, K, Ab.data(), lda, Bp.data(), ldb, C.data(), ldc, beta, alpha, rs.data(),
                                     tri);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              const float got = C[size_t(i * ldc + j)];
              if (j >= N) {
                EXPECT_EQ(got, 7.f);
                continue;
              }
              if (tri == Tri::LowerC && j > i) continue;
              double ref = 0, mag = 0;
              for (int64_t k = 0; k < K; ++k) {
                const double t = double(rnd(A[size_t(i * ldf + k)])) * rnd(B[size_t(k * N + j)]);
                ref += t;
                mag += std::abs(t);
              }
              ref = beta * double(C0[size_t(i * ldc + j)]) + double(alpha) * rs[size_t(i)] * ref;
              ASSERT_NEAR(got, ref, 1e-6 * (mag + 8) + 1e-6)
                  << "M=" << M << " N=" << N << " K=" << K << " tri=" << int(tri) << " i=" << i << " j=" << j;
            }
        }
}

TEST(GdnTileGemmBf16, TransposesValuesAndPairs) {
  const int64_t rows = 19, cols = 37, lds = 40;
  std::vector<uint16_t> src(size_t(rows * lds));
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint16_t(i * 7 + 1);
  std::vector<uint16_t> t16(size_t(cols * rows));
  gdn_detail::transpose_words(rows, cols, src.data(), lds, t16.data(), rows);
  std::vector<uint32_t> t32(size_t(cols / 2 * rows));
  gdn_detail::transpose_words(rows, cols / 2, src.data(), lds, t32.data(), rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      ASSERT_EQ(t16[size_t(j * rows + r)], src[size_t(r * lds + j)]);
      if (j < cols / 2) {
        const uint32_t w = t32[size_t(j * rows + r)];
        ASSERT_EQ(w & 0xFFFF, src[size_t(r * lds + 2 * j)]);
        ASSERT_EQ(w >> 16, src[size_t(r * lds + 2 * j + 1)]);
      }
    }
}
