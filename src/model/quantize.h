// Weight-only quantization of a model (formats: kernels/quant_formats.h).
// Quantized: every linear weight (GDN q/k/v/a/b/g/o, attention q/k/v/o, MLP gate/up/down, lm_head) and, unless
// kept, the embedding (only its rows are read, so it costs nothing at decode but shrinks the file).
// Kept in f32: norms, A_log, dt_bias, conv taps (tiny, and precision-sensitive).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "model/weights.h"

namespace hyb {

// "int8" | "q8_0" -> Q8_0, "q4" | "q4_0" -> Q4_0; anything else fails naming `what`.
DType parse_quant_type(const std::string& s, const std::string& what = "--type");

// The checkpoint's quantization format from config.json "quantization_config" (F32 when absent). Fails on an
// unknown format or a block size other than 32.
DType config_quant_format(const ModelConfig& cfg, const std::string& where);

// One matrix (F32 or BF16) in `type`'s memory format (quant_matrix_bytes(type, m.rows, m.cols) bytes).
HugeBuffer quantize_matrix(DType type, const WeightMat& m);

// Quantizes `w` in place to `type` (Q8_0 or Q4_0). keep_embedding leaves the embedding in its current dtype (with
// tied embeddings that also keeps lm_head). Owned f32/bf16 storage of the replaced matrices is freed.
void quantize_weights(Weights& w, DType type, bool keep_embedding = false);

}  // namespace hyb
