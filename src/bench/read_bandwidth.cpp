#include "bench/read_bandwidth.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/mman.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/error.h"
#include "core/timer.h"

namespace hyb {

namespace {

// Sum of n floats (n a multiple of 128), in eight independent chains so loads, not adds, set the pace.
float sum_block(const float* p, size_t n) {
#if defined(__AVX512F__)
  __m512 a[8];
  for (auto& x : a) x = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 128)
    for (int c = 0; c < 8; ++c) a[c] = _mm512_add_ps(a[c], _mm512_load_ps(p + i + 16 * c));
  for (int c = 1; c < 8; ++c) a[0] = _mm512_add_ps(a[0], a[c]);
  // Stored and summed by hand: GCC 12's _mm512_reduce_add_ps trips -Wuninitialized inside its own header.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, a[0]);
  float t = 0;
  for (float x : lanes) t += x;
  return t;
#else
  float s[8] = {};
  for (size_t i = 0; i < n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += p[i + size_t(j)];
  float t = 0;
  for (float x : s) t += x;
  return t;
#endif
}

}  // namespace

ReadProbe::ReadProbe(size_t bytes) {
  // Whole 2 MiB pages, advised huge as the engine's own weight copies are (TLB misses on 4 KiB pages cost ~10%
  // of the read rate here).
  constexpr size_t kAlign = size_t(2) << 20;
  n_ = std::max<size_t>(bytes / kAlign, 1) * kAlign / sizeof(float);
  buf_ = static_cast<float*>(std::aligned_alloc(kAlign, n_ * sizeof(float)));
  if (!buf_) fail("read-bandwidth probe: cannot allocate ", n_ * sizeof(float), " bytes");
  madvise(buf_, n_ * sizeof(float), MADV_HUGEPAGE);
  // First touch by the threads that read it later (pages land where they are used), values that are not zero
  // pages shared by the kernel.
  float* buf = buf_;
  const int64_t n = int64_t(n_);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) buf[i] = float(i & 7);
}

ReadProbe::~ReadProbe() { std::free(buf_); }

ReadBandwidth ReadProbe::measure(int passes) {
  const size_t n = n_;
  std::vector<double> gbs;
  volatile float sink = 0;
  for (int p = 0; p < passes + 1; ++p) {  // the first pass warms the TLB and is not counted
    float total = 0;
    Timer t;
#pragma omp parallel reduction(+ : total)
    {
      const size_t nt = size_t(omp_get_num_threads()), id = size_t(omp_get_thread_num());
      const size_t per = (n / nt) / 128 * 128;
      const size_t b = id * per, e = id + 1 == nt ? n / 128 * 128 : b + per;
      total += sum_block(buf_ + b, e - b);
    }
    const double s = t.seconds();
    sink = sink + total;
    if (p > 0) gbs.push_back(double(n * sizeof(float)) / s / 1e9);
  }
  std::sort(gbs.begin(), gbs.end());
  return ReadBandwidth{gbs.back(), gbs[gbs.size() / 2], n * sizeof(float)};
}

}  // namespace hyb
