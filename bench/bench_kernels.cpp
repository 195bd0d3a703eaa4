// Google Benchmark micro-benchmarks of the kernels, at the shapes of bench-0.4b-hybrid.json (hidden 1024, FFN 2816,
// vocab 100352, 8 heads x 128, GDN dk = dv = 128). Counters: FLOPS (model FLOPs per second) and, for the GEMM at
// M = 1 (memory bound), bytes_per_second of weights read.
//   build/bench_kernels --benchmark_filter=linear     (OMP_NUM_THREADS sets the threads)
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/gdn.h"
#include "kernels/gemm.h"
#include "kernels/lm_head_loss.h"
#include "kernels/norms.h"
#include "kernels/short_conv.h"

using namespace hyb;

namespace {

std::vector<float> randn(size_t n, float scale = 1.f, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// ---------------------------------------------------------------------------------------------- linear
// Args: M (tokens), rows (out features), cols (in features).
template <DType kType>
void BM_linear(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  const auto w32 = randn(size_t(N * K), 0.02f);
  std::vector<uint16_t> w16;
  WeightMat W{kType, w32.data(), N, K};
  if (kType == DType::BF16) {
    w16.resize(w32.size());
    for (size_t i = 0; i < w32.size(); ++i) w16[i] = f32_to_bf16(w32[i]);
    W.data = w16.data();
  }
  const auto x = randn(size_t(M * K));
  std::vector<float> y(size_t(M * N));
  for (auto _ : st) {
    linear(x.data(), M, W, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["FLOPS"] = benchmark::Counter(2.0 * double(M * N * K), benchmark::Counter::kIsIterationInvariantRate);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(W.bytes()));
}

void linear_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t M : {1, 512})
    for (auto [N, K] : {std::pair<int64_t, int64_t>{1024, 1024}, {2816, 1024}, {1024, 2816}, {3072, 1024}})
      b->Args({M, N, K});
  b->Args({1, 100352, 1024});  // lm_head of one decoded token
}
// Row-wise form (decode rows of M sequences; batch-invariant). Args: M, rows, cols, compute (0 exact, 1 fast).
// The lm_head shape (200 MB of bf16) streams from DRAM, as every decode step does with the whole model.
void BM_linear_rowwise_bf16(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  set_compute(st.range(3) ? Compute::Fast : Compute::Exact);
  const auto w32 = randn(size_t(N * K), 0.02f);
  std::vector<uint16_t> w16(w32.size());
  for (size_t i = 0; i < w32.size(); ++i) w16[i] = f32_to_bf16(w32[i]);
  const WeightMat W{DType::BF16, w16.data(), N, K};
  const auto x = randn(size_t(M * K));
  std::vector<float> y(size_t(M * N));
  for (auto _ : st) {
    linear_rowwise(x.data(), M, K, W, y.data(), N);
    benchmark::DoNotOptimize(y.data());
  }
  set_compute(Compute::Exact);
  st.counters["FLOPS"] = benchmark::Counter(2.0 * double(M * N * K), benchmark::Counter::kIsIterationInvariantRate);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(W.bytes()));
}
BENCHMARK(BM_linear_rowwise_bf16)->Name("linear_rowwise/bf16")->ArgNames({"M", "N", "K", "fast"})
    ->ArgsProduct({{1, 4, 8, 16}, {100352}, {1024}, {0, 1}})->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK(BM_linear<DType::F32>)->Name("linear/f32")->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_linear<DType::BF16>)->Name("linear/bf16")->Apply(linear_shapes)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// -------------------------------------------------------------------------------------------------- GDN
// Args: T. Heads 8, dk = dv = 128 (one GDN layer of the 0.4B model).
struct GdnInputs {
  int64_t T, H = 8, dk = 128, dv = 128;
  std::vector<float> q, k, v, beta, g, state, out, dout, dq, dk_, dv_, db, dg;
  explicit GdnInputs(int64_t T_) : T(T_) {
    q = randn(size_t(T * H * dk), 1.f, 1);
    k = randn(q.size(), 1.f, 2);
    v = randn(size_t(T * H * dv), 1.f, 3);
    for (auto* x : {&q, &k})
      for (int64_t r = 0; r < T * H; ++r) {
        float* p = x->data() + r * dk;
        double s = 0;
        for (int64_t i = 0; i < dk; ++i) s += double(p[i]) * p[i];
        const double sc = 1.0 / std::sqrt(s) / (x == &q ? std::sqrt(double(dk)) : 1.0);
        for (int64_t i = 0; i < dk; ++i) p[i] = float(p[i] * sc);
      }
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    beta.resize(size_t(T * H));
    g.resize(beta.size());
    for (auto& x : beta) x = u(rng);
    for (auto& x : g) x = -0.001f - 0.2f * u(rng);
    state.assign(size_t(H * dk * dv), 0.f);
    out.resize(v.size());
    dout = randn(v.size(), 1.f, 5);
    dq.resize(q.size()); dk_.resize(k.size()); dv_.resize(v.size()); db.resize(beta.size()); dg.resize(g.size());
  }
  GdnArgs<float> args() {
    return {q.data(), H * dk, k.data(), H * dk, v.data(), H * dv, beta.data(), g.data(), state.data(),
            out.data(), H * dv, T, H, H, dk, dv};
  }
  // Recurrent-form FLOPs (decay, Sᵀk, rank-1 update, Sᵀq), the work the layer must do.
  double flops() const { return 7.0 * double(T * H * dk * dv); }
};

void BM_gdn_chunk_forward(benchmark::State& st) {
  GdnInputs in(st.range(0));
  auto a = in.args();
  for (auto _ : st) {
    std::fill(in.state.begin(), in.state.end(), 0.f);
    gdn_chunk_forward(a, 64);
  }
  st.counters["tokens"] = benchmark::Counter(double(in.T), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["FLOPS"] = benchmark::Counter(in.flops(), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_gdn_recurrent(benchmark::State& st) {
  GdnInputs in(st.range(0));
  auto a = in.args();
  for (auto _ : st) {
    std::fill(in.state.begin(), in.state.end(), 0.f);
    gdn_recurrent(a);
  }
  st.counters["tokens"] = benchmark::Counter(double(in.T), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["FLOPS"] = benchmark::Counter(in.flops(), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_gdn_chunk_backward(benchmark::State& st) {
  GdnInputs in(st.range(0));
  auto a = in.args();
  a.state = nullptr;
  GdnGradArgs<float> d{in.dout.data(), in.H * in.dv, nullptr, in.dq.data(), in.H * in.dk, in.dk_.data(),
                       in.H * in.dk, in.dv_.data(), in.H * in.dv, in.db.data(), in.dg.data(), nullptr};
  for (auto _ : st) gdn_chunk_backward(a, d, 64);
  st.counters["tokens"] = benchmark::Counter(double(in.T), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_gdn_chunk_forward)->Name("gdn/chunk_forward")->Arg(64)->Arg(512)->Arg(2048)
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gdn_recurrent)->Name("gdn/recurrent")->Arg(1)->Arg(64)->Arg(512)->Arg(2048)
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gdn_chunk_backward)->Name("gdn/chunk_backward")->Arg(512)->Arg(2048)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// --------------------------------------------------------------------------------------------- attention
// Args: T (new queries), past (cached positions). 8 heads x 128, no GQA (as bench-0.4b-hybrid).
void BM_attention(benchmark::State& st) {
  const int64_t T = st.range(0), past = st.range(1), H = 8, hd = 128, S = past + T;
  const auto q = randn(size_t(T * H * hd), 1.f, 1);
  const auto k = randn(size_t(H * S * hd), 1.f, 2), v = randn(k.size(), 1.f, 3);
  std::vector<float> out(q.size());
  AttentionArgs a{q.data(), H * hd, k.data(), v.data(), S * hd, out.data(), H * hd, T, H, H, hd, past,
                  float(1.0 / std::sqrt(double(hd)))};
  for (auto _ : st) attention_causal(a);
  // q·k and p·v over past + t + 1 keys for each query t.
  const double keys = double(T) * double(past) + double(T) * double(T + 1) / 2.0;
  st.counters["FLOPS"] = benchmark::Counter(4.0 * keys * double(H * hd), benchmark::Counter::kIsIterationInvariantRate);
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(2 * H * S * hd * 4));
}
BENCHMARK(BM_attention)->Name("attention/prefill")->Args({512, 0})->Args({512, 4096})->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_attention)->Name("attention/decode")->Args({1, 4096})->Args({1, 16384})->Args({1, 65536})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

// ------------------------------------------------------------------------------------------------- norms
void BM_rmsnorm(benchmark::State& st) {
  const int64_t rows = st.range(0), n = 1024;
  auto x = randn(size_t(rows * n));
  const std::vector<float> w(size_t(n), 1.f);
  std::vector<float> y(x.size());
  for (auto _ : st) rmsnorm(x.data(), w.data(), y.data(), rows, n, 1e-6f);
  st.SetBytesProcessed(int64_t(st.iterations()) * rows * n * 8);
}
void BM_gated_rmsnorm(benchmark::State& st) {
  const int64_t rows = st.range(0) * 8, n = 128;  // tokens x 8 heads of dv = 128
  const auto o = randn(size_t(rows * n), 1.f, 1), z = randn(o.size(), 1.f, 2);
  const std::vector<float> w(size_t(n), 1.f);
  std::vector<float> y(o.size());
  for (auto _ : st) gated_rmsnorm(o.data(), z.data(), w.data(), y.data(), rows, n, 1e-6f);
  st.SetBytesProcessed(int64_t(st.iterations()) * rows * n * 12);
}
void BM_l2norm(benchmark::State& st) {
  const int64_t T = st.range(0), heads = 8, n = 128;
  auto x = randn(size_t(T * heads * n));
  for (auto _ : st) l2norm_scale(x.data(), T, heads, n, heads * n, 1e-6f, 1.f);
  st.SetBytesProcessed(int64_t(st.iterations()) * T * heads * n * 8);
}
BENCHMARK(BM_rmsnorm)->Name("norm/rmsnorm")->Arg(1)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gated_rmsnorm)->Name("norm/gated_rmsnorm")->Arg(1)->Arg(512)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_l2norm)->Name("norm/l2norm_scale")->Arg(1)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();

// -------------------------------------------------------------------------------------------- short conv
void BM_short_conv(benchmark::State& st) {
  const int64_t T = st.range(0), C = 3072, K = 4;  // q | k | v channels of one GDN layer
  const auto x = randn(size_t(T * C), 1.f, 1), w = randn(size_t(C * K), 0.5f, 2);
  std::vector<float> state(size_t((K - 1) * C), 0.f), out(x.size());
  for (auto _ : st) short_conv_silu(x.data(), T, C, state.data(), w.data(), K, out.data());
  st.SetBytesProcessed(int64_t(st.iterations()) * T * C * 8);
}
BENCHMARK(BM_short_conv)->Name("short_conv_silu")->Arg(1)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();

// -------------------------------------------------------------------------------------- lm_head + loss
// Args: rows, with_grads. Full vocabulary 100352 x 1024.
void BM_lm_head_loss(benchmark::State& st) {
  const int64_t N = st.range(0), D = 1024, V = 100352;
  const bool grads = st.range(1) != 0;
  const auto h = randn(size_t(N * D), 1.f, 1), W = randn(size_t(V * D), 0.02f, 2);
  std::vector<int32_t> targets(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) targets[size_t(i)] = int32_t((i * 7919) % V);
  std::vector<float> dh(grads ? h.size() : 0), dW(grads ? W.size() : 0);
  LmHeadLossArgs<float> a{h.data(), N, D, W.data(), V, targets.data(), 1.0 / double(N)};
  if (grads) {
    a.dh = dh.data();
    a.dW = dW.data();
  }
  for (auto _ : st) benchmark::DoNotOptimize(lm_head_loss(a));
  st.counters["FLOPS"] = benchmark::Counter((grads ? 6.0 : 2.0) * double(N * V * D),
                                            benchmark::Counter::kIsIterationInvariantRate);
  st.counters["tokens"] = benchmark::Counter(double(N), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_lm_head_loss)->Name("lm_head_loss")->Args({128, 0})->Args({128, 1})->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
