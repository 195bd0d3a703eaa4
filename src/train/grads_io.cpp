#include "train/grads_io.h"

#include <regex>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace hyb {

size_t write_like_checkpoint(const std::string& ckpt_dir, const ParamTensors& t, const std::string& out_path) {
  const Checkpoint ck(ckpt_dir);
  const ModelConfig& c = t.config();
  const int64_t K = c.linear_conv_kernel_dim, kd = c.key_dim();
  static const std::regex split(R"(^(model\.layers\.\d+\.linear_attn\.)([qkv])_conv1d\.weight$)");
  struct Item {
    TensorSpec spec;
    const float* data;
  };
  std::vector<Item> items;
  for (auto& [name, view] : ck.tensors()) {
    const std::string cn = canonical_param_name(name, c);
    if (cn.empty()) continue;                                              // rotary buffers
    if (cn == "lm_head.weight" && c.tie_word_embeddings) continue;         // ignored by the loader too
    const float* src = nullptr;
    std::smatch m;
    if (std::regex_match(cn, m, split)) {
      const float* fused = t.find(std::string(m[1]) + "conv1d.weight");
      const char part = std::string(m[2])[0];
      if (fused) src = fused + (part == 'q' ? 0 : part == 'k' ? kd : 2 * kd) * K;  // channels q | k | v
    } else {
      src = t.find(cn);
    }
    if (!src) fail(ckpt_dir, ": tensor '", name, "' has no matching parameter");
    items.push_back({{name, DType::F32, view.shape}, src});
  }
  std::vector<TensorSpec> specs;
  for (auto& it : items) specs.push_back(it.spec);
  SafetensorsWriter wr(out_path, specs);
  for (auto& it : items) wr.write(it.spec.name, it.data, it.spec.nbytes());
  wr.finish();
  return items.size();
}

}  // namespace hyb
