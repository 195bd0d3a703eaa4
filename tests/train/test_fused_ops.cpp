// The training-side batched forwards against the inference kernels they stand in for.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/activations_backward.h"
#include "kernels/short_conv.h"
#include "train/fused_ops.h"

namespace hyb {
namespace {

std::vector<float> randv(std::mt19937& rng, size_t n, float s = 1.f) {
  std::normal_distribution<float> d(0.f, s);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(FusedOps, ShortConvSiluBatchMatchesPerSequenceKernel) {
  std::mt19937 rng(5);
  for (int64_t K : {1, 2, 4}) {
    const int64_t B = 3, T = 70, C = 200;  // T·C above the inference kernel's threading threshold
    const auto x = randv(rng, size_t(B * T * C)), w = randv(rng, size_t(C * K), 0.5f);
    std::vector<float> got(x.size()), want(x.size());
    short_conv_silu_batch(x.data(), B, T, C, w.data(), K, got.data());
    for (int64_t b = 0; b < B; ++b) {
      std::vector<float> state(size_t((K - 1) * C), 0.f);
      short_conv_silu(x.data() + b * T * C, T, C, state.data(), w.data(), K, want.data() + b * T * C);
    }
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-6f * (1.f + std::abs(want[i]))) << i;
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
