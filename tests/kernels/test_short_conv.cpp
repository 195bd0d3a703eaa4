#include <random>

#include "kernels/activations.h"
#include "kernels/short_conv.h"
#include "test_util.h"

using namespace hyb;

TEST(ShortConv, MatchesDirectFormulaAndStreams) {
  const int64_t T = 23, C = 5, K = 4;
  std::mt19937 rng(3);
  std::normal_distribution<float> n01;
  std::vector<float> x(size_t(T * C)), w(size_t(C * K));
  for (auto& e : x) e = n01(rng);
  for (auto& e : w) e = n01(rng);
  // Direct: out[t,c] = silu(Σ_i w[c,i] x[t−K+1+i, c]), zeros before the start.
  std::vector<float> want(x.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t i = 0; i < K; ++i) {
        int64_t s = t - K + 1 + i;
        if (s >= 0) acc += double(w[c * K + i]) * x[s * C + c];
      }
      want[t * C + c] = siluf(float(acc));
    }
  std::vector<float> state(size_t((K - 1) * C), 0.f), got(x.size());
  short_conv_silu(x.data(), T, C, state.data(), w.data(), K, got.data());
  EXPECT_LT(test::max_abs_diff(got, want), 1e-6);
  // The state holds the last K−1 raw inputs.
  for (int64_t r = 0; r < K - 1; ++r)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(state[r * C + c], x[(T - K + 1 + r) * C + c]);
  // Streaming in pieces of 1, 2 and 7 tokens gives the same outputs.
  std::fill(state.begin(), state.end(), 0.f);
  std::vector<float> streamed(x.size());
  int64_t t = 0;
  for (int64_t n : {1, 2, 7, 1, 12}) {
    short_conv_silu(x.data() + t * C, n, C, state.data(), w.data(), K, streamed.data() + t * C);
    t += n;
  }
  ASSERT_EQ(t, T);
  EXPECT_LT(test::max_abs_diff(streamed, want), 1e-6);
}
