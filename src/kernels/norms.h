// Normalisations of OLMo Hybrid (spec §2.1). All in f32 with double accumulation of the sum of squares.
#pragma once
#include <cstdint>

namespace hyb {

// OLMo RMSNorm: y = w ⊙ (x / sqrt(mean(x²) + eps)), per row of n. y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps, int64_t ldx = -1,
             int64_t ldy = -1);

// GDN output norm, per head of n=dv: y = w ⊙ (o / sqrt(mean(o²) + eps)) ⊙ silu(z). y may alias o.
void gated_rmsnorm(const float* o, const float* z, const float* w, float* y, int64_t rows, int64_t n, float eps);

// In place: x ← scale · x / sqrt(Σx² + eps) for each head vector of length n; head h of token t starts at
// x + t·ld + h·n.
void l2norm_scale(float* x, int64_t T, int64_t heads, int64_t n, int64_t ld, float eps, float scale);

}  // namespace hyb
