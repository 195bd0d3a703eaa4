// Storage dtypes and exact conversions. Compute is always F32 (or F64 in reference paths).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace hyb {

// Q8_0 / Q4_0 are in-memory block-quantized weight formats (kernels/quant_formats.h); they have no per-element
// size and never appear as a safetensors dtype.
enum class DType { F32, BF16, F16, F64, I32, I64, U8, U16, U32, I8, Q8_0, Q4_0 };

size_t dtype_size(DType t);  // bytes per element; fails for the block formats
const char* dtype_name(DType t);            // safetensors spelling: "F32", "BF16", ...
bool dtype_from_name(const std::string& s, DType* out);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even; NaN stays NaN (quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Widen `n` elements of `src` (any float dtype) into f32.
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);

}  // namespace hyb
