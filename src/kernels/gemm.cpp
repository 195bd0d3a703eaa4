#include "kernels/gemm.h"

#include <cblas.h>
// GCC 12 flags its own AVX-512 intrinsic headers with -Wmaybe-uninitialized (false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm_bf16.h"
#include "kernels/quant_matmul.h"
#include "kernels/widened_gemm.h"
#include "kernels/work_steal.h"

namespace hyb {

namespace {

// 16 weights widened to f32 (bf16 is the high half of an f32), full or masked tail.
#if defined(__AVX512F__)
inline __m512 load_w16(const float* w) { return _mm512_loadu_ps(w); }
inline __m512 load_w16(const uint16_t* w) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))), 16));
}
inline __m512 load_w16(const float* w, __mmask16 m) { return _mm512_maskz_loadu_ps(m, w); }
inline __m512 load_w16(const uint16_t* w, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, w)), 16));
}
#endif
inline float widen(float w) { return w; }
inline float widen(uint16_t w) { return bf16_to_f32(w); }

// A tile of R activation rows × NC weight rows (f32 or bf16, row stride K): each weight vector is widened once
// and used by R rows, each activation vector by NC weight rows, so batched decode rows cost FMAs, not loads.
// Every output (m, n) is its own accumulator fed in k order and reduced the same way whatever the tile shape, so
// a row's result does not depend on the rows it is grouped with (batch invariance).
template <int R, int NC, class Wt>
void dot_tile(const float* x, int64_t ldx, const Wt* w, int64_t K, float* y, int64_t ldy, float beta) {
  float out[R][NC];
#if defined(__AVX512F__)
  __m512 acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wf[NC];
    for (int c = 0; c < NC; ++c) wf[c] = load_w16(w + c * K + k);
    for (int r = 0; r < R; ++r) {
      __m512 xv = _mm512_loadu_ps(x + r * ldx + k);
      // Keep xv in a register: folded into each FMA as a memory operand it would be loaded NC times, and 512-bit
      // loads (one per cycle on Zen 4) would then bound the loop instead of the FMAs.
      if constexpr (NC > 1) __asm__("" : "+v"(xv));
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_fmadd_ps(wf[c], xv, acc[r][c]);
    }
  }
  if (k < K) {
    const __mmask16 m = __mmask16((1u << (K - k)) - 1);
    __m512 wf[NC];
    for (int c = 0; c < NC; ++c) wf[c] = load_w16(w + c * K + k, m);
    for (int r = 0; r < R; ++r) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + r * ldx + k);
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_fmadd_ps(wf[c], xv, acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) out[r][c] = _mm512_reduce_add_ps(acc[r][c]);
#else
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) {
      float s = 0.f;
      for (int64_t k = 0; k < K; ++k) s += widen(w[c * K + k]) * x[r * ldx + k];
      out[r][c] = s;
    }
#endif
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) {
      float* yp = y + r * ldy + c;
      *yp = beta != 0.f ? *yp + out[r][c] : out[r][c];
    }
}

template <int NC, class Wt>
void dot_tile_rows(int64_t R, const float* x, int64_t ldx, const Wt* w, int64_t K, float* y, int64_t ldy, float beta) {
  switch (R) {
    case 4: return dot_tile<4, NC>(x, ldx, w, K, y, ldy, beta);
    case 3: return dot_tile<3, NC>(x, ldx, w, K, y, ldy, beta);
    case 2: return dot_tile<2, NC>(x, ldx, w, K, y, ldy, beta);
    default: return dot_tile<1, NC>(x, ldx, w, K, y, ldy, beta);
  }
}

// Rows [n0, n1) of W (f32 or bf16) against M activation rows, in tiles of 4 × 4. Decode keeps bf16 weights in
// bf16 and widens them in registers: exact (f32 products), and on Zen 4 it streams DRAM at least as fast as dpbf16.
template <class Wt>
void matvec_rows_t(const float* x, int64_t M, int64_t ldx, const Wt* w, int64_t K, int64_t n0, int64_t n1, float* y,
                   int64_t ldy, float beta) {
  // One weight row at a time for a single activation row (decode of one sequence streams best that way); tiles of
  // 4 weight rows once several rows share each weight vector. The numbers are the same either way.
  constexpr int64_t rows = 4;
  const int64_t step = M == 1 ? 1 : 4;
  for (int64_t n = n0; n < n1; n += step) {
    const int64_t nc = std::min<int64_t>(step, n1 - n);
    const Wt* wr = w + n * K;
    for (int64_t m0 = 0; m0 < M; m0 += rows) {
      const int64_t r = std::min<int64_t>(rows, M - m0);
      const float* xr = x + m0 * ldx;
      float* yr = y + m0 * ldy + n;
      switch (nc) {
        case 4: dot_tile_rows<4>(r, xr, ldx, wr, K, yr, ldy, beta); break;
        case 3: dot_tile_rows<3>(r, xr, ldx, wr, K, yr, ldy, beta); break;
        case 2: dot_tile_rows<2>(r, xr, ldx, wr, K, yr, ldy, beta); break;
        default: dot_tile_rows<1>(r, xr, ldx, wr, K, yr, ldy, beta); break;
      }
    }
  }
}

// Row-wise inputs: the f32 rows, and in fast mode with BF16 weights the same rows rounded to bf16 once per call
// (before the parallel region, shared by every thread and matrix).
struct RowInput {
  const float* x;
  int64_t M, ldx;
  const uint16_t* xb = nullptr;
  int64_t ldxb = 0;
};
RowInput row_input(const float* x, int64_t M, int64_t ldx, int64_t K, bool bf16_weights) {
  RowInput in{x, M, ldx};
  if (bf16_weights && bf16_fast_active()) {
    const Bf16Rows rows = round_rows_bf16(false, x, ldx, M, K);
    in.xb = rows.data, in.ldxb = rows.rs;
  }
  return in;
}

void matvec_rows(const RowInput& in, const WeightMat& W, int64_t n0, int64_t n1, float* y, int64_t ldy, float beta) {
  if (W.dtype == DType::F32) matvec_rows_t(in.x, in.M, in.ldx, W.f32(), W.cols, n0, n1, y, ldy, beta);
  else if (in.xb) bf16k::rowwise_rows(in.xb, in.M, in.ldxb, W.bf16(), W.cols, n0, n1, y, ldy, beta);
  else matvec_rows_t(in.x, in.M, in.ldx, W.bf16(), W.cols, n0, n1, y, ldy, beta);
}

void matvec_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs, float beta);

void matvec(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  const LinearOut out{&W, y, ldy};
  matvec_multi(x, M, ldx, &out, 1, beta);
}

void widen_bf16_rows(const WeightMat& W, int64_t n0, int64_t n, float* out) {
  const uint16_t* src = W.bf16() + n0 * W.cols;
  for (int64_t i = 0; i < n * W.cols; ++i) out[i] = bf16_to_f32(src[i]);
}

// Prefill shape: the panel GEMM of gemm_bf16 with the weight panels packed from bf16 (k-pair interleaved).
void gemm_dp(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  const auto pack = [](const void* w, int64_t, int64_t K, int64_t n0, int64_t n, uint16_t* out) {
    bf16k::pack_panel(static_cast<const uint16_t*>(w), K, n0, n, out);
  };
  panel_gemm_bf16(round_rows_bf16(false, x, ldx, M, W.cols), M, W.rows, W.cols, pack, W.bf16(), W.cols, y, ldy, beta);
}

Compute g_compute = Compute::Exact;

void linear_bf16(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (M <= 8) matvec(x, M, ldx, W, y, ldy, beta);
  else if (bf16_fast_active()) gemm_dp(x, M, ldx, W, y, ldy, beta);
  else widened_gemm(x, M, ldx, W, y, ldy, beta, widen_bf16_rows);
}

void linear_f32(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (W.products == Precision::BF16) {
    gemm_bf16(false, true, M, W.rows, W.cols, x, ldx, W.f32(), W.cols, beta, y, ldy);
  } else if (M == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(W.rows), int(W.cols), 1.f, W.f32(), int(W.cols), x, 1, beta, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(W.rows), int(W.cols), 1.f, x, int(ldx), W.f32(),
                int(W.cols), beta, y, int(ldy));
  }
}

}  // namespace

void set_compute(Compute m) { g_compute = m; }
Compute compute_mode() { return g_compute; }
bool bf16_fast_active() { return g_compute == Compute::Fast && bf16k::dpbf16_supported(); }
const char* compute_name(Compute m) { return m == Compute::Exact ? "exact" : "fast"; }

namespace {
bool matvec_dtype(DType t) { return t == DType::F32 || t == DType::BF16; }

// One space of weight elements over all matrices, cut into chunks of whole rows (~32k elements: 64 KiB of BF16
// weights, ~1 us of reading) and shared by one parallel region for the whole group (decode forks once per group
// instead of once per matrix). Each thread streams a contiguous share and then steals from the others'
// (StealQueue). With several activation rows a chunk is a multiple of 12 rows, so that the 3- and 4-row weight
// tiles of the BF16 kernel cover it without leftover rows (those go one weight row at a time, ~2.4x the cost).
void matvec_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs, float beta) {
  const int64_t K = std::max<int64_t>(1, outs[0].W->cols);
  const int64_t chunk_rows = M == 1 ? std::max<int64_t>(1, (int64_t(1) << 15) / K)
                                    : std::max<int64_t>(1, (int64_t(1) << 15) / (12 * K)) * 12;
  const int64_t chunk = chunk_rows * K;
  int64_t total = 0;
  bool any_bf16 = false;
  for (int i = 0; i < n_outs; ++i) {
    HYB_ASSERT(outs[i].W->cols == outs[0].W->cols);  // one input row set for all matrices
    total += outs[i].W->rows * outs[i].W->cols;
    any_bf16 = any_bf16 || outs[i].W->dtype == DType::BF16;
  }
  const RowInput in = row_input(x, M, ldx, outs[0].W->cols, any_bf16);
  const bool par = total >= (1 << 16);
  StealQueue queue((total + chunk - 1) / chunk, par ? omp_get_max_threads() : 1);
  parallel_region(par, [&](int t, int) {
    for (int64_t c; (c = queue.next(t)) >= 0;) {
      const int64_t e0 = c * chunk, e1 = std::min(total, e0 + chunk);
      int64_t base = 0;
      for (int i = 0; i < n_outs && base < e1; ++i) {
        const WeightMat& W = *outs[i].W;
        const auto row = [&](int64_t e) { return std::clamp((e - base + W.cols / 2) / W.cols, int64_t(0), W.rows); };
        const int64_t a = row(e0), b = e1 == total ? W.rows : row(e1);
        if (a < b) matvec_rows(in, W, a, b, outs[i].y, outs[i].ldy, beta);
        base += W.rows * W.cols;
      }
    }
  });
}
}  // namespace

void linear_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs) {
  bool fused = M <= 8;
  for (int i = 0; i < n_outs; ++i) fused = fused && outs[i].W->dtype == DType::BF16;
  if (!fused) {
    for (int i = 0; i < n_outs; ++i) linear(x, M, ldx, *outs[i].W, outs[i].y, outs[i].ldy);
    return;
  }
  matvec_multi(x, M, ldx, outs, n_outs, 0.f);
}

void linear_rowwise(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (M <= 0 || W.rows == 0) return;
  if (matvec_dtype(W.dtype)) matvec(x, M, ldx, W, y, ldy, beta);
  else if (is_quant_dtype(W.dtype)) quant_matvec(x, M, ldx, W, y, ldy, beta);
  else fail("linear: unsupported weight dtype ", dtype_name(W.dtype));
}

void linear_rowwise_multi(const float* x, int64_t M, int64_t ldx, const LinearOut* outs, int n_outs) {
  if (M <= 0) return;
  bool fused = true, quant = true;
  for (int i = 0; i < n_outs; ++i) {
    fused = fused && matvec_dtype(outs[i].W->dtype);
    quant = quant && is_quant_dtype(outs[i].W->dtype);
  }
  if (fused) return matvec_multi(x, M, ldx, outs, n_outs, 0.f);
  if (quant) return quant_matvec_multi(x, M, ldx, outs, n_outs);
  for (int i = 0; i < n_outs; ++i) linear_rowwise(x, M, ldx, *outs[i].W, outs[i].y, outs[i].ldy);
}

void linear(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta) {
  if (M <= 0 || W.rows == 0) return;
  switch (W.dtype) {
    case DType::F32: linear_f32(x, M, ldx, W, y, ldy, beta); break;
    case DType::BF16: linear_bf16(x, M, ldx, W, y, ldy, beta); break;
    case DType::Q8_0:
    case DType::Q4_0: quant_linear(x, M, ldx, W, y, ldy, beta); break;
    default: fail("linear: unsupported weight dtype ", dtype_name(W.dtype));
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

void widened_gemm(const float* x, int64_t M, int64_t ldx, const WeightMat& W, float* y, int64_t ldy, float beta,
                  WidenRows widen) {
  const int64_t N = W.rows, K = W.cols;
  const int64_t nb = std::max<int64_t>(16, std::min<int64_t>(256, (1 << 18) / std::max<int64_t>(K, 1)));
  const int64_t blocks = (N + nb - 1) / nb;
#pragma omp parallel
  {
    std::vector<float> tile(size_t(nb * K));
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t n0 = b * nb, n = std::min(nb, N - n0);
      widen(W, n0, n, tile.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(n), int(K), 1.f, x, int(ldx), tile.data(),
                  int(K), beta, y + n0, int(ldy));
    }
  }
}

}  // namespace hyb
