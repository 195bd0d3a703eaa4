// Branch-free float exp and row reductions written so that GCC vectorises them without -ffast-math: the
// training softmaxes (lm_head cross-entropy, attention) run one exp per logit, and libm's scalar expf was the
// bottleneck there. Plain C++, so the portable build (no -march=native) gets the same results.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hyb::vec {

// exp(x) for x ≤ 88.7, relative error ≤ ~2 ulp; x below −87.3 (including −inf) returns 0, so masked scores and
// the first online-softmax rescale (m = −inf) vanish exactly.
inline float fast_exp(float x) {
  const bool underflow = x < -87.3f;
  x = underflow ? -87.3f : x;
  x = x > 88.7f ? 88.7f : x;
  // x = n ln2 + r, |r| ≤ ln2/2; n rounded to nearest by the 1.5·2²³ shifter (exact for |n| < 2²²).
  const float shifter = 12582912.f;
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  // Taylor polynomial to r⁶: truncation error r⁷/7! < 1.2e-8 relative on the reduced range.
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return underflow ? 0.f : p * scale;
}

constexpr int64_t kLanes = 16;

inline float max_of(const float* x, int64_t n) {
  float lane[kLanes];
  for (int64_t k = 0; k < kLanes; ++k) lane[k] = -3.4e38f;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lane[k] = lane[k] > x[j + k] ? lane[k] : x[j + k];
  float m = -3.4e38f;
  for (int64_t k = 0; k < kLanes; ++k) m = m > lane[k] ? m : lane[k];
  for (; j < n; ++j) m = m > x[j] ? m : x[j];
  return m;
}

// x[j] = exp(a·x[j] − b); returns Σ x[j] (16 float lanes combined in double, a fixed order: reproducible).
inline double exp_affine_sum(float* x, int64_t n, float a, float b) {
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) {
      const float e = fast_exp(a * x[j + k] - b);
      x[j + k] = e;
      lane[k] += e;
    }
  double s = 0;
  for (int64_t k = 0; k < kLanes; ++k) s += lane[k];
  for (; j < n; ++j) s += (x[j] = fast_exp(a * x[j] - b));
  return s;
}

// Σ x[j]·y[j] in 16 float lanes.
inline float dot(const float* x, const float* y, int64_t n) {
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lane[k] += x[j + k] * y[j + k];
  float s = 0;
  for (int64_t k = 0; k < kLanes; ++k) s += lane[k];
  for (; j < n; ++j) s += x[j] * y[j];
  return s;
}

// exp for kernels templated on the float type: float rows use fast_exp; the float64 twins (the finite-difference
// references) keep libm's.
template <class F>
inline F exp_of(F x) {
  if constexpr (sizeof(F) == 4) return fast_exp(x);
  else return std::exp(x);
}

}  // namespace hyb::vec
