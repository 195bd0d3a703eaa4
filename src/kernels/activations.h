#pragma once
#include <cmath>
#include <cstdint>

namespace hyb {

inline float sigmoidf(float x) { return 1.f / (1.f + std::exp(-x)); }
inline float siluf(float x) { return x / (1.f + std::exp(-x)); }
// PyTorch's softplus with threshold 20 (linear above it).
inline float softplusf(float x) { return x > 20.f ? x : std::log1p(std::exp(x)); }

// gate ← silu(gate) ⊙ up  (SwiGLU), n elements.
void swiglu_inplace(float* gate, const float* up, int64_t n);

// GDN gates for one sequence: beta[t,h] = σ(b)·(2 if neg_eigval), g[t,h] = −exp(A_log[h])·softplus(a + dt_bias[h]).
// b and a are [T, Hv]; results overwrite them.
void gdn_gates(float* b, float* a, int64_t T, int64_t Hv, const float* A_log, const float* dt_bias, bool neg_eigval);

}  // namespace hyb
