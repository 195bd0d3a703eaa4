// Writes per-parameter tensors (gradients) under the tensor names and shapes of a given checkpoint: aliases
// (spec §4.2), split q/k/v_conv1d or fused conv1d, and the MLX conv layout are all mirrored, so a tool that
// reads the checkpoint can match every gradient to its weight by name.
#pragma once
#include <string>

#include "model/param_tensors.h"

namespace hyb {

// Returns the number of tensors written. F32, atomically (temp + rename).
size_t write_like_checkpoint(const std::string& ckpt_dir, const ParamTensors& t, const std::string& out_path);

}  // namespace hyb
