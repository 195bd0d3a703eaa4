#include <cstdio>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "model/init.h"
#include "model/weights.h"

namespace hyb::cli {

int run_init(int argc, char** argv) {
  CLI::App app{"Create a randomly initialised checkpoint (HF layout; spec §7 init) from a config.json", argv[0]};
  std::string config, out, dtype = "f32";
  uint64_t seed = 0;
  bool split = false;
  int threads = 0;
  app.add_option("-c,--config", config, "Model config.json (any olmo_hybrid shape)")->required();
  app.add_option("-o,--out", out, "Output checkpoint directory")->required();
  app.add_option("-s,--seed", seed, "Random seed")->default_val(0);
  app.add_option("--dtype", dtype, "Weights dtype on disk: f32, bf16, f16")->default_val("f32");
  app.add_flag("--split-conv", split, "Write q/k/v_conv1d tensors (as released checkpoints) instead of conv1d");
  add_threads(app, threads);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);

  InitOptions opt;
  opt.seed = seed;
  opt.split_conv = split;
  opt.progress = true;
  if (dtype == "f32" || dtype == "float32") opt.dtype = DType::F32;
  else if (dtype == "bf16" || dtype == "bfloat16") opt.dtype = DType::BF16;
  else if (dtype == "f16" || dtype == "float16") opt.dtype = DType::F16;
  else fail("--dtype: '", dtype, "' is not one of f32, bf16, f16");
  const ModelConfig cfg = ModelConfig::load(config);
  Timer t;
  init_checkpoint(cfg, out, opt);
  size_t n = 0;
  for (auto& p : canonical_params(cfg)) n += p.numel();
  std::printf("initialised %s: %zu parameters (%s), seed %llu, %.1f s\n", out.c_str(), n, dtype_name(opt.dtype),
              (unsigned long long)seed, t.seconds());
  return 0;
}

}  // namespace hyb::cli
