// Block-wise symmetric weight quantization: Q8_0 (int8) and Q4_0 (4-bit), 32 weights per block along the input
// (K) dimension, one f16 scale per block.
//
// Quantization of one block w[0..32):
//   Q8_0: d = max|w| / 127, q = round(w / d) in [-127, 127]            (w ≈ d·q)
//   Q4_0: m = the w of largest magnitude, d = m / -8, q = round(w / d) clamped to [-8, 7]
//         (the largest-magnitude weight lands exactly on -8, so the whole 16-level range is used)
// d is rounded to f16 first and q is computed with the rounded d, so the stored pair is self-consistent.
// K need not be a multiple of 32: the last block is padded with zero weights (q = 0), which add nothing to any
// dot product, so every linear matrix can be quantized.
//
// Disk format (safetensors; row-major, one row = ceil(K/32) blocks, padded K = Kp):
//   Q8_0: "<name>"        I8  [N, Kp]     q
//         "<name>.scales" F16 [N, Kp/32]  d
//   Q4_0: "<name>"        U8  [N, Kp/2]   block b is 16 bytes: byte j = (q[j] + 8) | (q[j + 16] + 8) << 4
//         "<name>.scales" F16 [N, Kp/32]  d
//   config.json: "quantization_config": {"quant_method": "hybrid", "format": "q8_0" | "q4_0", "block_size": 32}
//
// Memory format (what the kernels read; built from the disk format at load time): rows are taken 16 at a time
// ("row groups", the last one zero-padded) so that one 512-bit register holds 4 consecutive K values of each of
// 16 rows. That is the operand shape of the VNNI instruction vpdpbusd (u8 × s8, 4 products summed into each
// int32 lane), so a group's 16 outputs accumulate in the 16 lanes with a broadcast activation and no horizontal
// reductions. Weights are stored unsigned (q + 128 for Q8_0, q + 8 for Q4_0, the u8 operand); the offset is
// removed exactly by starting each block's int32 sum at -offset·Σ x_q, which depends only on the activations.
//   group g = [nb weight blocks of 512 (Q8_0) or 256 (Q4_0) bytes][nb × 16 f16 scales, row-minor]
//   Q8_0 block: byte 64·j + 4·r + t     = row r, k = 4j + t            (j < 8)
//   Q4_0 block: byte 64·j + 4·r + t     = low nibble row r, k = 4j + t; high nibble row r, k = 16 + 4j + t (j < 4)
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace hyb {

constexpr int64_t kQuantBlock = 32;  // weights per block along K
constexpr int64_t kQuantRows = 16;   // rows per interleaved group in memory

inline bool is_quant_dtype(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }
inline int64_t quant_blocks(int64_t cols) { return (cols + kQuantBlock - 1) / kQuantBlock; }
inline int64_t quant_groups(int64_t rows) { return (rows + kQuantRows - 1) / kQuantRows; }
// Weight bytes of one 16-row block in memory (scales not included).
inline size_t quant_block_bytes(DType t) { return t == DType::Q8_0 ? 512 : 256; }
inline size_t quant_group_bytes(DType t, int64_t cols) {
  return size_t(quant_blocks(cols)) * (quant_block_bytes(t) + kQuantRows * 2);
}
// Bytes of a whole matrix in memory.
inline size_t quant_matrix_bytes(DType t, int64_t rows, int64_t cols) {
  return size_t(quant_groups(rows)) * quant_group_bytes(t, cols);
}
// Bytes of the disk tensor "<name>" for one row (scales excluded).
inline int64_t quant_disk_row_bytes(DType t, int64_t cols) {
  return quant_blocks(cols) * (t == DType::Q8_0 ? kQuantBlock : kQuantBlock / 2);
}
// "q8_0" / "q4_0" <-> DType; false for anything else.
bool quant_format_from_name(const std::string& s, DType* out);
const char* quant_format_name(DType t);

// One row of K floats -> disk format (q: quant_disk_row_bytes, scales: quant_blocks(K) f16). Fails on non-finite
// weights or a scale beyond the f16 range.
void quantize_row(DType t, const float* w, int64_t K, uint8_t* q, uint16_t* scales);
// Disk format row -> K floats.
void dequantize_row(DType t, const uint8_t* q, const uint16_t* scales, int64_t K, float* out);

// Disk format [rows, ...] -> memory format (quant_matrix_bytes). Multithreaded.
void quant_pack(DType t, const uint8_t* q, const uint16_t* scales, int64_t rows, int64_t cols, uint8_t* out);
// Row r of a memory-format matrix -> K floats.
void quant_unpack_row(DType t, const uint8_t* packed, int64_t rows, int64_t cols, int64_t r, float* out);

}  // namespace hyb
