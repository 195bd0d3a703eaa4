// Training-step throughput on random tokens: GradModel forward+backward, gradient clipping and AdamW, as in
// `hybrid train` but without data files, so any HF config.json shape can be timed directly.
// Usage: bench_train_step CONFIG.json [batch=8] [seq=512] [steps=3] [warmup=1] [threads=0: all]
// Prints tokens/s and MFU against 6·N·tokens + causal attention FLOPs.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/model_config.h"
#include "model/init.h"
#include "model/weights.h"
#include "train/adamw.h"
#include "train/grad_model.h"
#include "train/param_tensors.h"
#include "train/phase_profile.h"

static double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int main(int argc, char** argv) {
  using namespace hyb;
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::printf("usage: %s CONFIG.json [batch=8] [seq=512] [steps=3] [warmup=1] [threads=0]\n", argv[0]);
    return argc < 2 ? 2 : 0;
  }
  auto arg = [&](int i, long d) { return argc > i ? std::atol(argv[i]) : d; };
  const int64_t B = arg(2, 8), T = arg(3, 512), steps = arg(4, 3), warmup = arg(5, 1);
  if (const long th = arg(6, 0); th > 0) set_threads(int(th));
  try {
    const ModelConfig cfg = ModelConfig::load(argv[1]);
    ParamTensors params(cfg), grads(cfg);
    const std::string tmp =
        (std::filesystem::temp_directory_path() / ("bench_train_step." + std::to_string(::getpid()))).string();
    InitOptions io;
    io.seed = 1;
    init_checkpoint(cfg, tmp, io);
    params.copy_from(Weights::load(tmp, WeightDType::F32));
    std::filesystem::remove_all(tmp);
    AdamW adam(cfg, AdamWConfig{});
    const Weights view = params.view();
    GradModel gm(view);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> tok(0, int32_t(cfg.vocab_size) - 1);
    std::vector<int32_t> ids(size_t(B * (T + 1)));
    for (auto& t : ids) t = tok(rng);
    double n_params = 0;
    for (size_t i = 0; i < params.specs().size(); ++i) n_params += double(params.numel(i));
    double loss = 0;
    std::fprintf(stderr, "initialised %.0f params\n", n_params);
    Timer clock;
    double cpu0 = 0;
    for (int64_t s = 0; s < warmup + steps; ++s) {
      if (s == warmup) clock.reset(), cpu0 = cpu_seconds();
      loss = gm.loss_and_grads(ids.data(), B, T + 1, grads).loss;
      clip_grad_norm(grads, 1.0);
      adam.update(params, grads, 1e-3);
      PhaseProfile::get().report("step");
    }
    const double sec = clock.seconds() / double(steps), tps = double(B * T) / sec;
    const double cpu = (cpu_seconds() - cpu0) / double(steps);
    int64_t n_attn = 0;
    for (LayerKind k : cfg.layer_types) n_attn += k == LayerKind::Attention;
    // Causal attention: QKᵀ and PV over T²/2 pairs, ×3 for forward + backward.
    const double attn_flops_tok = 3.0 * 2 * 2 * double(T) / 2 * double(cfg.q_dim()) * double(n_attn);
    const double gflops = (6.0 * n_params + attn_flops_tok) * tps / 1e9;
    // On a shared machine the CPU time per step (all threads) is the steadier figure; at 1 thread B·T / cpu
    // is the throughput the step would have alone.
    std::printf("%s: %.0f params, batch %ld x %ld, %d threads: %.3f s/step wall (%.3f s CPU), %.0f tok/s, "
                "%.1f GFLOP/s (MFU %.1f%% of 117 GFLOP/s/thread peak); CPU-time tok/s per thread %.0f; loss %.4f\n",
                argv[1], n_params, long(B), long(T), num_threads(), sec, cpu, tps, gflops,
                100.0 * gflops / (117.0 * num_threads()), double(B * T) / cpu, loss);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
