#include "model/quantize.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/huge_pages.h"
#include "kernels/quant_formats.h"

namespace hyb {

DType parse_quant_type(const std::string& s, const std::string& what) {
  DType t;
  if (!quant_format_from_name(s, &t)) fail(what, ": '", s, "' is not one of int8 (q8_0), q4 (q4_0)");
  return t;
}

DType config_quant_format(const ModelConfig& cfg, const std::string& where) {
  if (!cfg.raw.is_object() || !cfg.raw.contains("quantization_config") || cfg.raw["quantization_config"].is_null())
    return DType::F32;
  const auto& q = cfg.raw["quantization_config"];
  if (!q.is_object()) fail(where, ": 'quantization_config' must be an object");
  if (!q.contains("format") || !q["format"].is_string())
    fail(where, ": quantization_config.format must be a string (q8_0 or q4_0)");
  DType t;
  const std::string f = q["format"].get<std::string>();
  if (!quant_format_from_name(f, &t)) fail(where, ": unknown quantization format '", f, "' (expected q8_0 or q4_0)");
  if (q.contains("block_size") && !(q["block_size"].is_number_integer() && q["block_size"].get<int64_t>() == kQuantBlock))
    fail(where, ": quantization_config.block_size is ", q["block_size"].dump(), "; only ", kQuantBlock, " is supported");
  return t;
}

HugeBuffer quantize_matrix(DType type, const WeightMat& m) {
  const int64_t N = m.rows, K = m.cols, nb = quant_blocks(K), rb = quant_disk_row_bytes(type, K);
  std::vector<uint8_t> q(size_t(N * rb));
  std::vector<uint16_t> sc(size_t(N * nb));
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(K));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < N; ++r) {
      weight_row_f32(m, r, row.data());
      quantize_row(type, row.data(), K, q.data() + r * rb, sc.data() + r * nb);
    }
  }
  auto buf = alloc_huge(quant_matrix_bytes(type, N, K));
  quant_pack(type, q.data(), sc.data(), N, K, buf.get());
  return buf;
}

struct WeightQuantizer {
  Weights& w;
  DType type;

  void quantize(WeightMat& m) {
    if (is_quant_dtype(m.dtype)) {
      if (m.dtype != type) fail("quantize_weights: matrix is already ", dtype_name(m.dtype));
      return;
    }
    auto buf = quantize_matrix(type, m);
    // Free the old storage when we own it (mapped file pages are released with the checkpoint).
    const void* old = m.data;
    for (auto& a : w.arena_)
      if (a.get() == old) a.reset();
    m.dtype = type;
    m.data = buf.get();
    w.arena_.push_back(std::move(buf));
  }

  void drop_freed() { w.arena_.erase(std::remove(w.arena_.begin(), w.arena_.end(), nullptr), w.arena_.end()); }
};

void quantize_weights(Weights& w, DType type, bool keep_embedding) {
  if (!is_quant_dtype(type)) fail("quantize_weights: ", dtype_name(type), " is not a quantized format");
  WeightQuantizer wq{w, type};
  const bool tied = w.lm_head.data == w.embed.data;
  if (!keep_embedding) wq.quantize(w.embed);
  if (tied) w.lm_head = w.embed;
  else wq.quantize(w.lm_head);
  for (auto& L : w.layers) {
    for (WeightMat* m : {&L.gdn.q, &L.gdn.k, &L.gdn.v, &L.gdn.a, &L.gdn.b, &L.gdn.g, &L.gdn.o, &L.attn.q, &L.attn.k,
                         &L.attn.v, &L.attn.o, &L.gate, &L.up, &L.down})
      if (m->data) wq.quantize(*m);
  }
  wq.drop_freed();
  w.matrix_dtype = type;
}

}  // namespace hyb
