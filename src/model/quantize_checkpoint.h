// `hybrid quantize`: an F32/BF16/F16 checkpoint directory (single or sharded) -> a quantized one (disk format in
// kernels/quant_formats.h), with the per-matrix error of the round trip.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace hyb {

struct QuantizeOptions {
  DType type = DType::Q8_0;              // Q8_0 or Q4_0
  std::optional<DType> keep_embedding;   // F32 or BF16: store the embedding unquantized in that dtype
};

struct MatrixQuantError {
  std::string name;
  int64_t rows = 0, cols = 0;
  double rel_rms = 0;   // ||W - deq(W)|| / ||W|| (Frobenius), in float64
  double max_abs = 0;   // max |W - deq(W)|
};

struct QuantizeReport {
  size_t bytes_in = 0, bytes_out = 0;  // tensor data of the input checkpoint / size of the written file
  std::vector<MatrixQuantError> matrices;
  int padded = 0;  // matrices whose K is not a multiple of the block size (last block zero-padded)
};

// Writes out_dir/model.safetensors (atomically), then config.json with "quantization_config", and copies the
// tokenizer/generation json files. Refuses out_dir == in_dir and already-quantized input.
QuantizeReport quantize_checkpoint(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& opt);

}  // namespace hyb
