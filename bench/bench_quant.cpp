// Quantized matvec (decode, M = 1) at the 0.4B model's shapes, against BF16 and F32 weights: weight GB/s.
// Run with OMP_NUM_THREADS=1 or 2; bytes_per_second counts the weight bytes (incl. scales) read per call.
#include <benchmark/benchmark.h>

// GCC 12 flags its own AVX-512 intrinsic headers (false positives).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <omp.h>

#include <map>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/quant_formats.h"
#include "kernels/quant_matmul.h"

using namespace hyb;

namespace {

struct Case {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> q8, q4;
};

const Case& weights(int64_t N, int64_t K) {
  static std::map<std::pair<int64_t, int64_t>, Case> cache;
  auto& c = cache[{N, K}];
  if (!c.f32.empty()) return c;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.f, 0.02f);
  c.f32.resize(size_t(N * K));
  for (auto& v : c.f32) v = d(rng);
  c.bf16.resize(c.f32.size());
  for (size_t i = 0; i < c.f32.size(); ++i) c.bf16[i] = f32_to_bf16(c.f32[i]);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const int64_t rb = quant_disk_row_bytes(t, K), nb = quant_blocks(K);
    std::vector<uint8_t> q(size_t(N * rb));
    std::vector<uint16_t> s(size_t(N * nb));
    for (int64_t n = 0; n < N; ++n) quantize_row(t, c.f32.data() + n * K, K, q.data() + n * rb, s.data() + n * nb);
    auto& out = t == DType::Q8_0 ? c.q8 : c.q4;
    out.resize(quant_matrix_bytes(t, N, K));
    quant_pack(t, q.data(), s.data(), N, K, out.data());
  }
  return c;
}

// kind: 0 f32, 1 bf16, 2 q8_0, 3 q4_0, 4 q8_0 scalar fallback, 5 q4_0 scalar fallback
void BM_matvec(benchmark::State& st) {
  const int64_t N = st.range(0), K = st.range(1), kind = st.range(2);
  const Case& c = weights(N, K);
  WeightMat W{DType::F32, c.f32.data(), N, K};
  if (kind == 1) W = {DType::BF16, c.bf16.data(), N, K};
  if (kind == 2 || kind == 4) W = {DType::Q8_0, c.q8.data(), N, K};
  if (kind == 3 || kind == 5) W = {DType::Q4_0, c.q4.data(), N, K};
  set_quant_kernel(kind >= 4 ? QuantKernel::Scalar : QuantKernel::Auto);
  std::vector<float> x(static_cast<size_t>(K), 0.5f), y(static_cast<size_t>(N));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.1f;
  for (auto _ : st) {
    linear(x.data(), 1, W, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  set_quant_kernel(QuantKernel::Auto);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(W.bytes()));
  static const char* names[] = {"f32", "bf16", "q8_0", "q4_0", "q8_0-scalar", "q4_0-scalar"};
  st.SetLabel(names[kind]);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (auto [N, K] : {std::pair<int64_t, int64_t>{2816, 1024}, {1024, 2816}, {100352, 1024}})
    for (int kind : {0, 1, 2, 3}) b->Args({N, K, kind});
  b->Args({2816, 1024, 4})->Args({2816, 1024, 5});
}

// Prefill shape: M activation rows at once, fast compute (BF16: AVX512-BF16 GEMM; q8_0/q4_0: the int8 VNNI GEMM).
// Reports ops/s (2·M·N·K) for comparison with the peak of the CPU's dot-product instructions.
void BM_gemm(benchmark::State& st) {
  const int64_t N = st.range(0), K = st.range(1), kind = st.range(2), M = st.range(3);
  const Case& c = weights(N, K);
  WeightMat W{DType::BF16, c.bf16.data(), N, K};
  if (kind == 2) W = {DType::Q8_0, c.q8.data(), N, K};
  if (kind == 3) W = {DType::Q4_0, c.q4.data(), N, K};
  set_compute(Compute::Fast);
  std::vector<float> x(size_t(M * K)), y(size_t(M * N));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.1f;
  for (auto _ : st) {
    linear(x.data(), M, W, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  set_compute(Compute::Exact);
  st.counters["GOPS"] = benchmark::Counter(double(2 * M * N * K) * double(st.iterations()) / 1e9,
                                           benchmark::Counter::kIsRate);
  static const char* names[] = {"", "bf16", "q8_0", "q4_0"};
  st.SetLabel(names[kind]);
}

// The instruction peaks the GEMMs are measured against: independent vpdpbusd / vdpbf16ps chains on every thread,
// registers only (ops = 2 per multiply-add: 128 per vpdpbusd, 64 per vdpbf16ps).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t vnni_chains(int64_t iters) {
  __m512i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_epi32(i);
  __m512i w = _mm512_set1_epi8(3), x = _mm512_set1_epi8(1);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbusd_epi32(a[i], w, x);
    __asm__ volatile("" : "+v"(x));
  }
  int64_t s = 0;
  for (int i = 0; i < 12; ++i) s += _mm512_reduce_add_epi32(a[i]);
  return s;
}
__attribute__((target("avx512f,avx512bf16"))) float bf16_chains(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  __m512bh w = (__m512bh)_mm512_set1_epi16(0x3f80), x = w;
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbf16_ps(a[i], w, x);
    __asm__ volatile("" : "+v"(x));
  }
  float s = 0;
  for (int i = 0; i < 12; ++i) s += _mm512_reduce_add_ps(a[i]);
  return s;
}
void BM_peak(benchmark::State& st) {
  const bool vnni = st.range(0) == 0;
  if (vnni ? !__builtin_cpu_supports("avx512vnni") : !__builtin_cpu_supports("avx512bf16")) {
    st.SkipWithError("instruction not supported");
    return;
  }
  constexpr int64_t kIters = 1 << 20;
  int threads = 1;
  for (auto _ : st) {
    double sink = 0;
#pragma omp parallel reduction(+ : sink)
    {
      sink += vnni ? double(vnni_chains(kIters)) : double(bf16_chains(kIters));
#pragma omp master
      threads = omp_get_num_threads();
    }
    benchmark::DoNotOptimize(sink);
  }
  st.counters["GOPS"] = benchmark::Counter(double(kIters) * 12 * threads * (vnni ? 128 : 64) *
                                               double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
  st.SetLabel(vnni ? "vpdpbusd peak" : "vdpbf16ps peak");
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (auto [N, K] : {std::pair<int64_t, int64_t>{2816, 1024}, {1024, 2816}, {1024, 1024}})
    for (int kind : {1, 2, 3}) b->Args({N, K, kind, 512});
}

}  // namespace

BENCHMARK(BM_peak)->Arg(0)->Arg(1)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_gemm)->Apply(gemm_shapes)->ArgNames({"N", "K", "kind", "M"})->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_matvec)->Apply(shapes)->ArgNames({"N", "K", "kind"})->UseRealTime()->MinTime(0.2);
BENCHMARK_MAIN();
