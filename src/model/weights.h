// Model weights as read-only views: matrices stay in the mapped checkpoint when their dtype already matches,
// everything else (dtype conversion, fused conv taps, small vectors) lives in an owned arena.
// Names follow the HF olmo_hybrid layout; the aliases of spec §4.2 are resolved here.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/huge_pages.h"
#include "io/checkpoint.h"
#include "io/model_config.h"
#include "kernels/gemm.h"

namespace hyb {

// Auto: BF16 if the file is BF16, the file's format if it is quantized (model/quantize.h), else F32.
// F32/BF16 on a quantized file dequantize it.
enum class WeightDType { Auto, F32, BF16 };
WeightDType parse_weight_dtype(const std::string& s);  // "auto" | "f32" | "bf16"

struct GdnWeights {
  WeightMat q, k, v, a, b, g, o;
  const float* conv = nullptr;     // [conv_dim, K], channels q | k | v
  const float* A_log = nullptr;    // [Hv]
  const float* dt_bias = nullptr;  // [Hv]
  const float* o_norm = nullptr;   // [dv]
};

struct AttnWeights {
  WeightMat q, k, v, o;
  const float* q_norm = nullptr;   // [H·hd]
  const float* k_norm = nullptr;   // [Hkv·hd]
};

struct LayerWeights {
  LayerKind kind = LayerKind::GDN;
  // GDN: input_norm (pre-mixer), post_attn_norm (pre-MLP).
  // Attention: post_attn_norm (on the attention output), post_ff_norm (on the MLP output).
  const float* input_norm = nullptr;
  const float* post_attn_norm = nullptr;
  const float* post_ff_norm = nullptr;
  GdnWeights gdn;
  AttnWeights attn;
  WeightMat gate, up, down;
};

// A canonical parameter: name as in HF state_dict (conv fused as linear_attn.conv1d.weight [C,1,K]).
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool matrix;  // stored in the weight dtype (vs always F32)
  size_t numel() const {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    return n;
  }
};
std::vector<ParamSpec> canonical_params(const ModelConfig& cfg);

// The canonical name of a checkpoint tensor (aliases of spec §4.2 resolved). Split conv parts keep their
// q_/k_/v_conv1d names; "" for tensors that are not parameters (rotary inv_freq buffers).
std::string canonical_param_name(const std::string& file_name, const ModelConfig& cfg);

class Weights {
 public:
  Weights() = default;
  // Empty views for a config; owners of parameter memory (the trainer) fill the public members.
  explicit Weights(ModelConfig cfg) : cfg_(std::move(cfg)) {}
  // use_mmap=false copies every matrix into anonymous memory: slower to load, but immune to the kernel reclaiming
  // file pages between decode steps (then every token would re-read the weights from disk).
  static Weights load(const std::string& dir, WeightDType want = WeightDType::Auto, bool use_mmap = true);

  const ModelConfig& config() const { return cfg_; }
  WeightMat embed, lm_head;
  const float* final_norm = nullptr;
  std::vector<LayerWeights> layers;
  DType matrix_dtype = DType::F32;  // of the linear weights (the embedding may differ when quantized)

  size_t param_count() const;
  size_t resident_bytes() const;  // bytes of all parameters as held (mapped or owned)

 private:
  ModelConfig cfg_;
  std::shared_ptr<Checkpoint> ckpt_;
  std::vector<HugeBuffer> arena_;
  friend struct WeightLoader;
  friend struct WeightQuantizer;  // model/quantize.cpp swaps matrices in place
};

}  // namespace hyb
