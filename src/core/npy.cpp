#include "core/npy.h"

#include <cstring>
#include <string_view>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace hyb {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

bool descr_to_dtype(const std::string& d, DType* t) {
  static const struct { const char* s; DType t; } table[] = {
      {"<f4", DType::F32}, {"<f8", DType::F64}, {"<f2", DType::F16}, {"<i4", DType::I32},
      {"<i8", DType::I64}, {"|u1", DType::U8},  {"<u2", DType::U16}, {"<u4", DType::U32}};
  for (auto& e : table)
    if (d == e.s) { *t = e.t; return true; }
  return false;
}

const char* dtype_to_descr(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::F16: return "<f2";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::U8: return "|u1";
    case DType::U16: return "<u2";
    case DType::U32: return "<u4";
    default: return nullptr;
  }
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } plus padding.
// Parsed strictly (keys, quotes, a tuple of non-negative integers) rather than searched with patterns, so a
// malformed header is an error and never a misread shape.
NpyHeader parse_header(std::string_view h, const std::string& path) {
  size_t i = 0;
  auto bad = [&](const char* why) { fail(path, ": malformed .npy header (", why, " at byte ", i, ")"); };
  auto ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r')) ++i;
  };
  auto expect = [&](char c, const char* why) {
    ws();
    if (i >= h.size() || h[i] != c) bad(why);
    ++i;
  };
  auto quoted = [&] {
    ws();
    if (i >= h.size() || (h[i] != '\'' && h[i] != '"')) bad("expected a quoted string");
    const char q = h[i++];
    const size_t b = i;
    while (i < h.size() && h[i] != q) ++i;
    if (i >= h.size()) bad("unterminated string");
    return std::string(h.substr(b, i++ - b));
  };
  NpyHeader out;
  bool seen_descr = false, seen_shape = false, seen_order = false;
  expect('{', "expected '{'");
  for (;;) {
    ws();
    if (i < h.size() && h[i] == '}') break;
    const std::string key = quoted();
    expect(':', "expected ':'");
    ws();
    if (key == "descr" && !seen_descr) {
      out.descr = quoted();
      seen_descr = true;
    } else if (key == "fortran_order" && !seen_order) {
      if (h.substr(i, 4) == "True") out.fortran_order = true, i += 4;
      else if (h.substr(i, 5) == "False") i += 5;
      else bad("fortran_order must be True or False");
      seen_order = true;
    } else if (key == "shape" && !seen_shape) {
      expect('(', "shape must be a tuple");
      for (;;) {
        ws();
        if (i < h.size() && h[i] == ')') break;
        const size_t b = i;
        while (i < h.size() && h[i] >= '0' && h[i] <= '9') ++i;
        if (i == b) bad("shape entries must be non-negative integers");
        if (i - b > 12) bad("shape entry is implausibly large");
        out.shape.push_back(std::stoll(std::string(h.substr(b, i - b))));
        ws();
        if (i < h.size() && h[i] == ',') ++i;
        else if (i >= h.size() || h[i] != ')') bad("expected ',' or ')' in shape");
      }
      ++i;
      seen_shape = true;
    } else {
      bad("unexpected or repeated key");
    }
    ws();
    if (i < h.size() && h[i] == ',') ++i;
    else if (i >= h.size() || h[i] != '}') bad("expected ',' or '}'");
  }
  ++i;
  ws();
  if (i != h.size()) bad("trailing bytes after the header dict");
  if (!seen_descr) fail(path, ": .npy header has no 'descr'");
  if (!seen_shape) fail(path, ": .npy header has no 'shape'");
  return out;
}

}  // namespace

NpyArray npy_read(const std::string& path) {
  MappedFile f(path);
  const uint8_t* p = f.data();
  size_t n = f.size();
  if (n < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) fail(path, ": not a .npy file (bad magic)");
  int major = p[6];
  size_t hlen, off;
  if (major == 1) {
    hlen = size_t(p[8]) | size_t(p[9]) << 8;
    off = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail(path, ": truncated .npy header");
    hlen = size_t(p[8]) | size_t(p[9]) << 8 | size_t(p[10]) << 16 | size_t(p[11]) << 24;
    off = 12;
  } else {
    fail(path, ": unsupported .npy format version ", major);
  }
  if (off + hlen > n) fail(path, ": truncated .npy header");
  // NumPy itself refuses headers over 10,000 bytes when reading untrusted files; ours are ~120.
  if (hlen > 10000) fail(path, ": .npy header of ", hlen, " bytes is implausibly large");
  const NpyHeader h = parse_header(std::string_view(reinterpret_cast<const char*>(p + off), hlen), path);
  NpyArray a;
  if (!descr_to_dtype(h.descr, &a.dtype))
    fail(path, ": unsupported .npy dtype '", h.descr, "' (need little-endian int/float)");
  if (h.fortran_order) fail(path, ": Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)");
  int64_t total = 1;
  for (int64_t d : h.shape) {
    a.shape.push_back(d);
    if (d > 0 && total > (int64_t(1) << 40) / d) fail(path, ": .npy shape is too large");
    total *= d;
  }
  size_t bytes = size_t(a.numel()) * dtype_size(a.dtype);
  if (off + hlen + bytes != n)
    fail(path, ": .npy data is ", n - off - hlen, " bytes, header says ", bytes);
  a.bytes.assign(p + off + hlen, p + n);
  return a;
}

std::vector<std::vector<int32_t>> npy_read_ids(const std::string& path, int64_t vocab) {
  NpyArray a = npy_read(path);
  if (a.dtype != DType::I32 && a.dtype != DType::I64 && a.dtype != DType::U16 && a.dtype != DType::U32)
    fail(path, ": token ids must be an integer array (int32/int64/uint16/uint32), got ", dtype_name(a.dtype));
  if (a.shape.empty() || a.shape.size() > 2)
    fail(path, ": token ids must have shape [T] or [B, T], got ", a.shape.size(), " dimensions");
  int64_t B = a.shape.size() == 2 ? a.shape[0] : 1, T = a.shape.back();
  if (B < 1 || T < 1) fail(path, ": token ids array is empty");
  std::vector<std::vector<int32_t>> rows(B, std::vector<int32_t>(T));
  for (int64_t i = 0; i < B * T; ++i) {
    int64_t v = a.dtype == DType::I32   ? a.as<int32_t>()[i]
                : a.dtype == DType::I64 ? a.as<int64_t>()[i]
                : a.dtype == DType::U16 ? int64_t(a.as<uint16_t>()[i])
                                        : int64_t(a.as<uint32_t>()[i]);
    if (v < 0 || v >= vocab)
      fail(path, ": token id ", v, " at index ", i, " is outside the vocabulary [0, ", vocab, ")");
    rows[i / T][i % T] = int32_t(v);
  }
  return rows;
}

void npy_write(const std::string& path, DType dtype, const std::vector<int64_t>& shape, const void* data) {
  const char* descr = dtype_to_descr(dtype);
  if (!descr) fail(path, ": cannot write dtype ", dtype_name(dtype), " to .npy");
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += (i ? ", " : "") + std::to_string(shape[i]);
    n *= shape[i];
  }
  if (shape.size() == 1) dims += ",";  // Python tuple syntax: (3,)
  std::string h = str("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", dims, "), }");
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::string head("\x93NUMPY\x01\x00", 8);
  head.push_back(char(h.size() & 0xff));
  head.push_back(char(h.size() >> 8));
  AtomicFile out(path);
  out.write(head.data(), head.size());
  out.write(h.data(), h.size());
  out.write(data, size_t(n) * dtype_size(dtype));
  out.commit();
}

void npy_write_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  npy_write(path, DType::F32, shape, data);
}
void npy_write_i32(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data) {
  npy_write(path, DType::I32, shape, data);
}

}  // namespace hyb
