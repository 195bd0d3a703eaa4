#include "kernels/short_conv.h"

#include <algorithm>
#include <vector>

#include "kernels/activations.h"

namespace hyb {

void short_conv_silu(const float* x, int64_t T, int64_t C, float* state, const float* w, int64_t K, float* out) {
  const int64_t S = K - 1;
  auto input = [&](int64_t s, int64_t c) {  // s in [−S, T): negative indices read the state
    return s < 0 ? state[(S + s) * C + c] : x[s * C + c];
  };
#pragma omp parallel for schedule(static) if (T * C > 32768)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      float acc = 0.f;
      for (int64_t i = 0; i < K; ++i) acc += w[c * K + i] * input(t - S + i, c);
      out[t * C + c] = siluf(acc);
    }
  if (S == 0) return;
  // New state = the last S rows of [state; x].
  std::vector<float> ns(size_t(S * C));
  for (int64_t r = 0; r < S; ++r)
    for (int64_t c = 0; c < C; ++c) ns[r * C + c] = input(T - S + r, c);
  std::copy(ns.begin(), ns.end(), state);
}

}  // namespace hyb
