#include "kernels/quant_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"

namespace hyb {

bool quant_format_from_name(const std::string& s, DType* out) {
  if (s == "q8_0" || s == "int8") { *out = DType::Q8_0; return true; }
  if (s == "q4_0" || s == "q4") { *out = DType::Q4_0; return true; }
  return false;
}

const char* quant_format_name(DType t) {
  return t == DType::Q8_0 ? "q8_0" : t == DType::Q4_0 ? "q4_0" : "none";
}

void quantize_row(DType t, const float* w, int64_t K, uint8_t* q, uint16_t* scales) {
  const int64_t nb = quant_blocks(K);
  float blk[kQuantBlock];
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t k0 = b * kQuantBlock, n = std::min(kQuantBlock, K - k0);
    std::fill(blk, blk + kQuantBlock, 0.f);
    std::copy(w + k0, w + k0 + n, blk);
    float amax = 0.f, extreme = 0.f;
    for (float v : blk) {
      if (!std::isfinite(v)) fail("quantize: non-finite weight ", v);
      if (std::fabs(v) > amax) { amax = std::fabs(v); extreme = v; }
    }
    const float d = t == DType::Q8_0 ? amax / 127.f : extreme / -8.f;
    const uint16_t dh = f32_to_f16(d);
    const float df = f16_to_f32(dh);
    if (!std::isfinite(df)) fail("quantize: block scale ", d, " is beyond the f16 range");
    scales[b] = dh;
    const float inv = df != 0.f ? 1.f / df : 0.f;
    if (t == DType::Q8_0) {
      int8_t* qb = reinterpret_cast<int8_t*>(q) + k0;
      for (int i = 0; i < kQuantBlock; ++i)
        qb[i] = int8_t(std::clamp(std::nearbyint(blk[i] * inv), -127.f, 127.f));
    } else {
      uint8_t* qb = q + b * (kQuantBlock / 2);
      for (int j = 0; j < kQuantBlock / 2; ++j) {
        const int lo = int(std::clamp(std::nearbyint(blk[j] * inv), -8.f, 7.f)) + 8;
        const int hi = int(std::clamp(std::nearbyint(blk[j + 16] * inv), -8.f, 7.f)) + 8;
        qb[j] = uint8_t(lo | hi << 4);
      }
    }
  }
}

void dequantize_row(DType t, const uint8_t* q, const uint16_t* scales, int64_t K, float* out) {
  for (int64_t k = 0; k < K; ++k) {
    const int64_t b = k / kQuantBlock, i = k % kQuantBlock;
    const float d = f16_to_f32(scales[b]);
    int v;
    if (t == DType::Q8_0) {
      v = reinterpret_cast<const int8_t*>(q)[k];
    } else {
      const uint8_t byte = q[b * 16 + (i & 15)];
      v = (i < 16 ? byte & 15 : byte >> 4) - 8;
    }
    out[k] = d * float(v);
  }
}

namespace {

// Byte offset of (row lane r, column i in the block) inside a memory-format block, and whether it is the high nibble.
inline size_t q8_pos(int r, int i) { return size_t(64 * (i / 4) + 4 * r + i % 4); }
inline size_t q4_pos(int r, int i, bool* high) {
  *high = i >= 16;
  const int c = i & 15;
  return size_t(64 * (c / 4) + 4 * r + c % 4);
}

}  // namespace

void quant_pack(DType t, const uint8_t* q, const uint16_t* scales, int64_t rows, int64_t cols, uint8_t* out) {
  const int64_t nb = quant_blocks(cols), groups = quant_groups(rows);
  const size_t gbytes = quant_group_bytes(t, cols), bbytes = quant_block_bytes(t);
  const int64_t row_bytes = quant_disk_row_bytes(t, cols);
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* gp = out + size_t(g) * gbytes;
    // Padding rows: weight q = 0 (stored as the offset), scale 0.
    std::memset(gp, t == DType::Q8_0 ? 128 : 0x88, size_t(nb) * bbytes);
    uint16_t* sc = reinterpret_cast<uint16_t*>(gp + size_t(nb) * bbytes);
    std::memset(sc, 0, size_t(nb) * kQuantRows * 2);
    for (int r = 0; r < kQuantRows; ++r) {
      const int64_t row = g * kQuantRows + r;
      if (row >= rows) break;
      const uint8_t* qr = q + row * row_bytes;
      for (int64_t b = 0; b < nb; ++b) {
        uint8_t* bp = gp + size_t(b) * bbytes;
        sc[b * kQuantRows + r] = scales[row * nb + b];
        for (int i = 0; i < kQuantBlock; ++i) {
          if (t == DType::Q8_0) {
            bp[q8_pos(r, i)] = uint8_t(int(reinterpret_cast<const int8_t*>(qr)[b * kQuantBlock + i]) + 128);
          } else {
            const uint8_t byte = qr[b * 16 + (i & 15)];
            const uint8_t nib = i < 16 ? byte & 15 : byte >> 4;
            bool high;
            const size_t p = q4_pos(r, i, &high);
            bp[p] = high ? uint8_t((bp[p] & 0x0f) | nib << 4) : uint8_t((bp[p] & 0xf0) | nib);
          }
        }
      }
    }
  }
}

void quant_unpack_row(DType t, const uint8_t* packed, int64_t rows, int64_t cols, int64_t r, float* out) {
  HYB_ASSERT(r >= 0 && r < rows);
  const int64_t nb = quant_blocks(cols);
  const size_t bbytes = quant_block_bytes(t);
  const uint8_t* gp = packed + size_t(r / kQuantRows) * quant_group_bytes(t, cols);
  const uint16_t* sc = reinterpret_cast<const uint16_t*>(gp + size_t(nb) * bbytes);
  const int lane = int(r % kQuantRows);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* bp = gp + size_t(b) * bbytes;
    const float d = f16_to_f32(sc[b * kQuantRows + lane]);
    const int n = int(std::min<int64_t>(kQuantBlock, cols - b * kQuantBlock));
    float* o = out + b * kQuantBlock;
    if (t == DType::Q8_0) {
      for (int i = 0; i < n; ++i) o[i] = d * float(int(bp[q8_pos(lane, i)]) - 128);
    } else {
      for (int i = 0; i < n; ++i) {
        bool high;
        const uint8_t byte = bp[q4_pos(lane, i, &high)];
        o[i] = d * float(int(high ? byte >> 4 : byte & 15) - 8);
      }
    }
  }
}

}  // namespace hyb
