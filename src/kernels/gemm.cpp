#include "kernels/gemm.h"

#include <cblas.h>
// GCC 12 flags its own AVX-512 intrinsic headers with -Wmaybe-uninitialized (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/quant_matmul.h"

namespace hyb {

namespace {

// Up to 4 activation rows against one bf16 weight row: weights are read once per row group, which is what
// decode (memory-bound) needs.
template <int R>
void dot_rows_bf16(const float* x, int64_t ldx, const uint16_t* w, int64_t K, float* out) {
#if defined(__AVX512F__)
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
    __m512 wf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(wf, _mm512_loadu_ps(x + r * ldx + k), acc[r]);
  }
  if (k < K) {
    __mmask16 m = __mmask16((1u << (K - k)) - 1);
    __m256i h = _mm256_maskz_loadu_epi16(m, w + k);
    __m512 wf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(wf, _mm512_maskz_loadu_ps(m, x + r * ldx + k), acc[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
#else
  for (int r = 0; r < R; ++r) {
    float s = 0.f;
    for (int64_t k = 0; k < K; ++k) s += bf16_to_f32(w[k]) * x[r * ldx + k];
    out[r] = s;
  }
#endif
}

void matvec_bf16(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  const int64_t N = W.rows, K = W.cols;
  const uint16_t* w = W.bf16();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const uint16_t* wr = w + n * K;
    for (int64_t m0 = 0; m0 < M; m0 += 4) {
      float out[4];
      const int64_t r = std::min<int64_t>(4, M - m0);
      const float* xr = x + m0 * ldx;
      switch (r) {
        case 4: dot_rows_bf16<4>(xr, ldx, wr, K, out); break;
        case 3: dot_rows_bf16<3>(xr, ldx, wr, K, out); break;
        case 2: dot_rows_bf16<2>(xr, ldx, wr, K, out); break;
        default: dot_rows_bf16<1>(xr, ldx, wr, K, out); break;
      }
      for (int64_t i = 0; i < r; ++i) {
        float* yp = y + (m0 + i) * ldy + n;
        *yp = beta != 0.f ? *yp + out[i] : out[i];
      }
    }
  }
}

// GEMM with bf16 weights: each thread widens a block of weight rows into its own f32 tile and runs a
// single-threaded SGEMM on it (OpenBLAS stays serial inside an OpenMP region).
void gemm_bf16(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  const int64_t N = W.rows, K = W.cols;
  const int64_t nb = std::max<int64_t>(16, std::min<int64_t>(256, (1 << 18) / std::max<int64_t>(K, 1)));
  const int64_t blocks = (N + nb - 1) / nb;
#pragma omp parallel
  {
    std::vector<float> tile(size_t(nb * K));
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t n0 = b * nb, n = std::min(nb, N - n0);
      const uint16_t* src = W.bf16() + n0 * K;
      for (int64_t i = 0; i < n * K; ++i) tile[i] = bf16_to_f32(src[i]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(n), int(K), 1.f, x, int(ldx), tile.data(),
                  int(K), beta, y + n0, int(ldy));
    }
  }
}

}  // namespace

void linear(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (M <= 0 || W.rows == 0) return;
  if (W.dtype == DType::F32) {
    if (M == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(W.rows), int(W.cols), 1.f, W.f32(), int(W.cols), x, 1, beta, y, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(W.rows), int(W.cols), 1.f, x, int(ldx),
                  W.f32(), int(W.cols), beta, y, int(ldy));
    }
  } else if (W.dtype == DType::BF16) {
    if (M <= 8) matvec_bf16(x, M, ldx, W, y, ldy, beta);
    else gemm_bf16(x, M, ldx, W, y, ldy, beta);
  } else if (is_quant_dtype(W.dtype)) {
    quant_linear(x, M, ldx, W, y, ldy, beta);
  } else {
    fail("linear: unsupported weight dtype ", dtype_name(W.dtype));
  }
}

void weight_row_f32(const WeightMat& W, int64_t r, float* out) {
  HYB_ASSERT(r >= 0 && r < W.rows);
  if (W.dtype == DType::F32) {
    std::copy(W.f32() + r * W.cols, W.f32() + (r + 1) * W.cols, out);
  } else if (is_quant_dtype(W.dtype)) {
    quant_unpack_row(W.dtype, W.u8(), W.rows, W.cols, r, out);
  } else {
    const uint16_t* s = W.bf16() + r * W.cols;
    for (int64_t i = 0; i < W.cols; ++i) out[i] = bf16_to_f32(s[i]);
  }
}

}  // namespace hyb
