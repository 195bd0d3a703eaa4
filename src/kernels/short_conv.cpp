#include "kernels/short_conv.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/vec_math.h"

namespace hyb {

void short_conv_silu(const float* x, int64_t T, int64_t C, float* state, const float* w, int64_t K, float* out) {
  const int64_t S = K - 1;
  // Taps transposed to [K, C] so every loop below runs unit-stride over channels (vectorises).
  std::vector<float> wt(size_t(K * C));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < K; ++i) wt[size_t(i * C + c)] = w[c * K + i];
  // Raw input row s in [−S, T): negative rows come from the state (absent state = zeros: skipped).
  auto row = [&](int64_t s) -> const float* { return s >= 0 ? x + s * C : state ? state + (S + s) * C : nullptr; };
  parallel_for(T, T * C > 32768, [&](int64_t t) {
    float* o = out + t * C;
    std::fill(o, o + C, 0.f);
    for (int64_t i = 0; i < K; ++i) {
      const float* xs = row(t - S + i);
      if (!xs) continue;
      const float* wi = wt.data() + i * C;
      for (int64_t c = 0; c < C; ++c) o[c] += wi[c] * xs[c];
    }
    for (int64_t c = 0; c < C; ++c) o[c] = o[c] / (1.f + vec::fast_exp(-o[c]));
  });
  if (!state || S == 0) return;
  // New state = the last S rows of [state; x].
  std::vector<float> ns(size_t(S * C));
  for (int64_t r = 0; r < S; ++r) std::copy_n(row(T - S + r), C, ns.data() + r * C);
  std::copy(ns.begin(), ns.end(), state);
}

}  // namespace hyb
