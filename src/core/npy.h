// NumPy .npy read/write (format versions 1-3, little-endian, C order). Used for ids in and logits out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace hyb {

struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // raw little-endian data, C order

  int64_t numel() const;
  template <class T> const T* as() const { return reinterpret_cast<const T*>(bytes.data()); }
};

NpyArray npy_read(const std::string& path);

// Token ids from an integer .npy of shape [T] or [B, T]; every id checked against [0, vocab).
// Returns rows (B) of ids; a 1-D array is one row.
std::vector<std::vector<int32_t>> npy_read_ids(const std::string& path, int64_t vocab);

// Writes atomically (temp file + rename).
void npy_write(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data);
void npy_write_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);
void npy_write_i32(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data);

}  // namespace hyb
