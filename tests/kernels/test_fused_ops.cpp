// The fused SwiGLU forms and the short conv against the kernels and references they stand in for.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/activations_backward.h"
#include "kernels/short_conv.h"
#include "kernels/fused_ops.h"

namespace hyb {
namespace {

std::vector<float> randv(std::mt19937& rng, size_t n, float s = 1.f) {
  std::normal_distribution<float> d(0.f, s);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(ShortConv, ZeroStateEqualsNoStateAndDoubleReference) {
  std::mt19937 rng(5);
  for (int64_t K : {1, 2, 4}) {
    const int64_t T = 70, C = 200;  // T·C above the kernel's threading threshold
    const auto x = randv(rng, size_t(T * C)), w = randv(rng, size_t(C * K), 0.5f);
    std::vector<float> got(x.size()), want(x.size());
    short_conv_silu(x.data(), T, C, nullptr, w.data(), K, got.data());
    std::vector<float> state(size_t((K - 1) * C), 0.f);
    short_conv_silu(x.data(), T, C, state.data(), w.data(), K, want.data());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0;
        for (int64_t i = 0; i < K; ++i)
          if (t - (K - 1) + i >= 0) acc += double(w[c * K + i]) * x[(t - (K - 1) + i) * C + c];
        const double ref = acc / (1 + std::exp(-acc));
        ASSERT_NEAR(got[t * C + c], ref, 2e-6 * (1 + std::abs(ref))) << t << " " << c;
      }
    // The state after the call is the last K-1 raw rows.
    for (int64_t r = 0; r < K - 1; ++r)
      for (int64_t c = 0; c < C; ++c) ASSERT_EQ(state[r * C + c], x[(T - (K - 1) + r) * C + c]);
  }
}

TEST(FusedOps, SwigluIntoMatchesInPlaceKernel) {
  std::mt19937 rng(6);
  const size_t n = 100000;
  auto gate = randv(rng, n, 4.f);
  const auto up = randv(rng, n);
  gate[0] = -100.f;  // far tail: silu → 0
  gate[1] = 100.f;   // silu → identity
  std::vector<float> got(n);
  swiglu_into(gate.data(), up.data(), got.data(), int64_t(n));
  swiglu_inplace(gate.data(), up.data(), int64_t(n));
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], gate[i], 1e-6f * (1.f + std::abs(gate[i]))) << i;
}

TEST(FusedOps, SwigluRowsMatchSeparateKernels) {
  std::mt19937 rng(7);
  const int64_t rows = 50, I = 37;
  const auto gu = randv(rng, size_t(rows * 2 * I), 3.f), dh = randv(rng, size_t(rows * I));
  std::vector<float> gate(size_t(rows * I)), up(gate.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < I; ++j) {
      gate[size_t(r * I + j)] = gu[size_t(r * 2 * I + j)];
      up[size_t(r * I + j)] = gu[size_t(r * 2 * I + I + j)];
    }
  std::vector<float> h(gate.size()), want_h(gate.size()), dgu(gu.size()), dg(gate.size()), du(gate.size());
  swiglu_rows(gu.data(), rows, I, h.data());
  swiglu_into(gate.data(), up.data(), want_h.data(), rows * I);
  swiglu_rows_backward(gu.data(), dh.data(), rows, I, dgu.data());
  swiglu_backward<float>(gate.data(), up.data(), dh.data(), dg.data(), du.data(), rows * I);  // FD-tested kernel
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < I; ++j) {
      const size_t k = size_t(r * I + j), f = size_t(r * 2 * I + j);
      ASSERT_EQ(h[k], want_h[k]);
      ASSERT_NEAR(dgu[f], dg[k], 1e-6f * (1.f + std::abs(dg[k])));
      ASSERT_NEAR(dgu[f + size_t(I)], du[k], 1e-6f * (1.f + std::abs(du[k])));
    }
}

}  // namespace
}  // namespace hyb
