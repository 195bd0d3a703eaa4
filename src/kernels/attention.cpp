#include "kernels/attention.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/vec_math.h"

namespace hyb {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kQueryBlock = 64;    // prefill: query rows per task
constexpr int64_t kKeyBlock = 128;     // prefill: keys per score tile
constexpr int64_t kDecodeBlock = 512;  // decode: keys per split-K task

inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return bf16_to_f32(x); }

template <class KV>
inline float dot(const float* a, const KV* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * widen(b[i]);
  return s;
}

// Decode and short continuations: every query head against KV blocks of kDecodeBlock keys (split-K), each task
// leaving a partial (max, sum, unnormalised output) that a final pass merges. Parallel over heads × blocks, so a
// long cache keeps every thread busy even with few heads.
template <class KV>
void attention_split_k(const AttentionArgs& a, const KV* k, const KV* v) {
  const int64_t group = a.H / a.Hkv, hd = a.hd;
  const int64_t n_max = a.past + a.T;
  const int64_t blocks = (n_max + kDecodeBlock - 1) / kDecodeBlock;
  const int64_t rows = a.T * a.H;  // (t, h) query rows
  const int64_t stride = hd + 2;   // partial: acc[hd], m, l
  std::vector<float> part(size_t(rows * blocks * stride));
  std::atomic<int64_t> next_item{0};  // (kv head, key block) items, handed out one at a time
  parallel_region(n_max * a.H * hd > (1 << 16), [&](int, int) {
    std::vector<float> s(static_cast<size_t>(kDecodeBlock));
    for (int64_t item; (item = next_item.fetch_add(1, std::memory_order_relaxed)) < a.Hkv * blocks;) {
      const int64_t g = item / blocks, b = item % blocks;
      const int64_t j0 = b * kDecodeBlock;
      const KV* K = k + g * a.kv_head_stride;
      const KV* V = v + g * a.kv_head_stride;
      for (int64_t t = 0; t < a.T; ++t)
        for (int64_t h = g * group; h < (g + 1) * group; ++h) {
          float* pr = part.data() + ((t * a.H + h) * blocks + b) * stride;
          const int64_t nk = std::min(a.past + t + 1, j0 + kDecodeBlock) - j0;  // keys this row sees here
          if (nk <= 0) {
            std::fill(pr, pr + stride, 0.f);
            pr[hd] = kNegInf;
            continue;
          }
          const float* q = a.q + t * a.ldq + h * hd;
          float m = kNegInf;
          for (int64_t j = 0; j < nk; ++j) {
            s[j] = a.scale * dot(q, K + (j0 + j) * hd, hd);
            m = std::max(m, s[j]);
          }
          float l = 0.f;
#pragma omp simd reduction(+ : l)
          for (int64_t j = 0; j < nk; ++j) {
            s[j] = vec::fast_exp(s[j] - m);
            l += s[j];
          }
          float* acc = pr;
          std::fill(acc, acc + hd, 0.f);
          for (int64_t j = 0; j < nk; ++j) {
            const float p = s[j];
            const KV* vr = V + (j0 + j) * hd;
#pragma omp simd
            for (int64_t i = 0; i < hd; ++i) acc[i] += p * widen(vr[i]);
          }
          pr[hd] = m;
          pr[hd + 1] = l;
        }
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = part.data() + r * blocks * stride;
    float m = kNegInf;
    for (int64_t b = 0; b < blocks; ++b) m = std::max(m, pr[b * stride + hd]);
    float* o = a.out + (r / a.H) * a.ldo + (r % a.H) * hd;
    std::fill(o, o + hd, 0.f);
    float l = 0.f;
    for (int64_t b = 0; b < blocks; ++b) {
      const float* p = pr + b * stride;
      if (p[hd] == kNegInf) continue;
      const float w = std::exp(p[hd] - m);
      l += w * p[hd + 1];
      for (int64_t i = 0; i < hd; ++i) o[i] += w * p[i];
    }
    const float inv = 1.f / l;
    for (int64_t i = 0; i < hd; ++i) o[i] *= inv;
  }
}

// Prefill: a block of query rows of one head against key tiles, both products as small GEMMs (single-threaded
// BLAS inside the parallel region), online softmax in between, so T×T scores never exist. A BF16 cache is
// widened one key tile at a time into per-thread f32 buffers (a tile is reused by the block's 64 query rows).
template <class KV>
void attention_tiled(const AttentionArgs& a, const KV* k, const KV* v) {
  constexpr bool kWiden = !std::is_same_v<KV, float>;
  const int64_t group = a.H / a.Hkv, hd = a.hd;
  const int64_t qblocks = (a.T + kQueryBlock - 1) / kQueryBlock;
#pragma omp parallel
  {
    std::vector<float> S(size_t(kQueryBlock * kKeyBlock)), O(size_t(kQueryBlock * hd)), m(kQueryBlock),
        l(kQueryBlock), Kt(kWiden ? size_t(kKeyBlock * hd) : 0), Vt(kWiden ? size_t(kKeyBlock * hd) : 0);
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (int64_t qbr = 0; qbr < qblocks; ++qbr)  // longest rows (last block) first: better balance
      for (int64_t h = 0; h < a.H; ++h) {
        const int64_t qb = qblocks - 1 - qbr;
        const int64_t t0 = qb * kQueryBlock, nq = std::min(kQueryBlock, a.T - t0);
        const float* Q = a.q + t0 * a.ldq + h * hd;
        const KV* K = k + (h / group) * a.kv_head_stride;
        const KV* V = v + (h / group) * a.kv_head_stride;
        const int64_t nk_total = a.past + t0 + nq;  // keys the last row of the block sees
        std::fill(m.begin(), m.end(), kNegInf);
        std::fill(l.begin(), l.end(), 0.f);
        std::fill(O.begin(), O.end(), 0.f);
        for (int64_t j0 = 0; j0 < nk_total; j0 += kKeyBlock) {
          const int64_t nj = std::min(kKeyBlock, nk_total - j0);
          const float* Kj;
          const float* Vj;
          if constexpr (kWiden) {
            for (int64_t i = 0; i < nj * hd; ++i) {
              Kt[size_t(i)] = widen(K[j0 * hd + i]);
              Vt[size_t(i)] = widen(V[j0 * hd + i]);
            }
            Kj = Kt.data();
            Vj = Vt.data();
          } else {
            Kj = K + j0 * hd;
            Vj = V + j0 * hd;
          }
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nq), int(nj), int(hd), a.scale, Q, int(a.ldq),
                      Kj, int(hd), 0.f, S.data(), int(kKeyBlock));
          for (int64_t i = 0; i < nq; ++i) {
            float* srow = S.data() + i * kKeyBlock;
            const int64_t visible = std::min(nj, a.past + t0 + i + 1 - j0);  // causal limit of row i in this tile
            if (visible <= 0) {
              std::fill(srow, srow + nj, 0.f);
              continue;
            }
            float mt = m[i];
            for (int64_t j = 0; j < visible; ++j) mt = std::max(mt, srow[j]);
            float sum = 0.f;
#pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j < visible; ++j) {
              srow[j] = vec::fast_exp(srow[j] - mt);
              sum += srow[j];
            }
            std::fill(srow + visible, srow + nj, 0.f);
            const float corr = vec::fast_exp(m[i] - mt);  // 0 on the first tile (m = -inf)
            l[i] = l[i] * corr + sum;
            m[i] = mt;
            float* orow = O.data() + i * hd;
            for (int64_t c = 0; c < hd; ++c) orow[c] *= corr;
          }
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(nq), int(hd), int(nj), 1.f, S.data(),
                      int(kKeyBlock), Vj, int(hd), 1.f, O.data(), int(hd));
        }
        for (int64_t i = 0; i < nq; ++i) {
          float* o = a.out + (t0 + i) * a.ldo + h * hd;
          const float inv = 1.f / l[i];
          for (int64_t c = 0; c < hd; ++c) o[c] = O[i * hd + c] * inv;
        }
      }
  }
}

}  // namespace

void attention_causal(const AttentionArgs& a) {
  if (a.kb) {
    if (a.T <= 4) attention_split_k(a, a.kb, a.vb);
    else attention_tiled(a, a.kb, a.vb);
  } else {
    if (a.T <= 4) attention_split_k(a, a.k, a.v);
    else attention_tiled(a, a.k, a.v);
  }
}

void attention_causal_reference(const AttentionArgs& a) {
  const int64_t group = a.H / a.Hkv;
  for (int64_t h = 0; h < a.H; ++h)
    for (int64_t t = 0; t < a.T; ++t) {
      const float* q = a.q + t * a.ldq + h * a.hd;
      const int64_t off = (h / group) * a.kv_head_stride;
      auto K = [&](int64_t i) { return double(a.kb ? bf16_to_f32(a.kb[off + i]) : a.k[off + i]); };
      auto V = [&](int64_t i) { return double(a.vb ? bf16_to_f32(a.vb[off + i]) : a.v[off + i]); };
      const int64_t nk = a.past + t + 1;
      std::vector<double> s(nk);
      double mx = -1e300;
      for (int64_t j = 0; j < nk; ++j) {
        double d = 0;
        for (int64_t i = 0; i < a.hd; ++i) d += double(q[i]) * K(j * a.hd + i);
        s[j] = d * a.scale;
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - mx));
      float* o = a.out + t * a.ldo + h * a.hd;
      for (int64_t i = 0; i < a.hd; ++i) {
        double acc = 0;
        for (int64_t j = 0; j < nk; ++j) acc += s[j] * V(j * a.hd + i);
        o[i] = float(acc / z);
      }
    }
}

}  // namespace hyb
