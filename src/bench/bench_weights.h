// Weights for benchmarks: random ones built in memory from a config (no file written) or a checkpoint directory,
// then brought to the benchmarked matrix dtype by one conversion function.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/weights.h"

namespace hyb {

class ParamTensors;

// An HF config.json, or a run config (RUN.json) whose "model" is an object, a path or a preset; run configs take
// their vocabulary from the tokenizer at training time, so here `vocab_size` stands in for it.
ModelConfig load_bench_config(const std::string& path, int64_t vocab_size);

// Keeps alive whatever the views in `weights` point into (also after `weights` has been moved into a Model).
struct BenchWeights {
  Weights weights;
  std::unique_ptr<ParamTensors> params;           // random F32 parameters
  std::vector<HugeBuffer> owned;  // converted matrices
  ~BenchWeights();
};

// The same values `hybrid init --seed seed` writes, held in F32.
std::unique_ptr<BenchWeights> random_bench_weights(const ModelConfig& cfg, uint64_t seed);
// The same values built directly in a benchmark dtype ("f32" | "bf16" | "int8" | "q4"), one tensor at a time: peak
// memory is the model in that dtype plus its largest tensor in F32 (bench_weight_bytes).
std::unique_ptr<BenchWeights> random_bench_weights(const ModelConfig& cfg, uint64_t seed, const std::string& dtype);
double bench_weight_bytes(const ModelConfig& cfg, const std::string& dtype);
std::unique_ptr<BenchWeights> load_bench_weights(const std::string& dir);

// THE place where a benchmark dtype ("f32" | "bf16" | "int8" | "q4") turns into weight matrices: every WeightMat
// of bw.weights is re-encoded (storage appended to bw.owned); norms and other vectors stay F32.
void convert_bench_weights(BenchWeights& bw, const std::string& dtype);

}  // namespace hyb
