// Random initialisation per spec §7 (OLMo-core InitMethod.normal), written as an HF checkpoint directory.
// Deterministic for a seed regardless of thread count: every 64K-element block has its own RNG stream.
#pragma once
#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "io/model_config.h"

namespace hyb {

struct InitOptions {
  uint64_t seed = 0;
  DType dtype = DType::F32;      // F32, BF16 or F16 on disk
  bool split_conv = false;       // q/k/v_conv1d (released checkpoints) instead of the fused conv1d
  bool progress = false;         // print per-tensor progress to stderr
};

// The values init_checkpoint writes for canonical parameter `name` (stream = its 1-based canonical index), into
// memory: benchmarks build random models without a file.
void init_values(const ModelConfig& cfg, const std::string& name, uint64_t seed, uint64_t stream, float* out,
                 int64_t n);

// Writes config.json, generation_config.json and model.safetensors into `dir` (created if needed).
void init_checkpoint(const ModelConfig& cfg, const std::string& dir, const InitOptions& opt);

}  // namespace hyb
