#include "model/quantize_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/read_file.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "kernels/quant_formats.h"
#include "model/quantize.h"
#include "model/weights.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {

enum class Action { Copy, Quantize, Convert, Drop };

struct Item {
  const TensorView* t;
  Action action;
  DType convert_to = DType::F32;
};

MatrixQuantError quantize_tensor(const TensorView& t, DType type, std::vector<uint8_t>& q, std::vector<uint16_t>& sc) {
  const int64_t N = t.shape[0], K = t.shape[1], nb = quant_blocks(K), rb = quant_disk_row_bytes(type, K);
  q.assign(size_t(N * rb), 0);
  sc.assign(size_t(N * nb), 0);
  double err2 = 0, ref2 = 0, max_abs = 0;
#pragma omp parallel reduction(+ : err2, ref2) reduction(max : max_abs)
  {
    std::vector<float> row(static_cast<size_t>(K)), back(static_cast<size_t>(K));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < N; ++r) {
      convert_to_f32(t.dtype, t.data + size_t(r * K) * dtype_size(t.dtype), row.data(), size_t(K));
      quantize_row(type, row.data(), K, q.data() + r * rb, sc.data() + r * nb);
      dequantize_row(type, q.data() + r * rb, sc.data() + r * nb, K, back.data());
      for (int64_t k = 0; k < K; ++k) {
        const double e = double(row[size_t(k)]) - double(back[size_t(k)]);
        err2 += e * e;
        ref2 += double(row[size_t(k)]) * double(row[size_t(k)]);
        max_abs = std::max(max_abs, std::fabs(e));
      }
    }
  }
  return {t.name, N, K, ref2 > 0 ? std::sqrt(err2 / ref2) : 0.0, max_abs};
}

void write_text(const fs::path& p, const std::string& s) {
  AtomicFile f(p.string());
  f.write(s.data(), s.size());
  f.commit();
}

}  // namespace

QuantizeReport quantize_checkpoint(const std::string& in_dir, const std::string& out_dir, const QuantizeOptions& opt) {
  if (!is_quant_dtype(opt.type)) fail("quantize: ", dtype_name(opt.type), " is not a quantized format");
  const Checkpoint ck(in_dir);
  const ModelConfig& c = ck.config();
  if (is_quant_dtype(config_quant_format(c, in_dir + "/config.json")))
    fail(in_dir, ": checkpoint is already quantized (config.json has quantization_config)");
  std::error_code ec;
  if (fs::exists(out_dir) && fs::equivalent(in_dir, out_dir, ec))
    fail(out_dir, ": output directory is the input directory; choose another");
  Weights::load(in_dir, WeightDType::Auto, true);  // validates names, shapes and dtypes before any writing

  std::set<std::string> matrices;
  for (auto& p : canonical_params(c))
    if (p.matrix) matrices.insert(p.name);
  std::vector<Item> items;
  std::vector<TensorSpec> specs;
  for (auto& [name, t] : ck.tensors()) {
    const std::string cn = canonical_param_name(name, c);
    if (cn == "lm_head.weight" && c.tie_word_embeddings) continue;  // unused: the loader would ignore it
    const bool is_embed = cn == "model.embed_tokens.weight";
    if (matrices.count(cn) && t.shape.size() == 2) {
      if (is_embed && opt.keep_embedding) {
        items.push_back({&t, Action::Convert, *opt.keep_embedding});
        specs.push_back({name, *opt.keep_embedding, t.shape});
        continue;
      }
      const int64_t N = t.shape[0], K = t.shape[1];
      items.push_back({&t, Action::Quantize});
      specs.push_back({name, opt.type == DType::Q8_0 ? DType::I8 : DType::U8, {N, quant_disk_row_bytes(opt.type, K)}});
      specs.push_back({name + ".scales", DType::F16, {N, quant_blocks(K)}});
    } else {
      items.push_back({&t, Action::Copy});
      specs.push_back({name, t.dtype, t.shape});
    }
  }

  fs::create_directories(out_dir);
  const fs::path out(out_dir);
  fs::remove(out / "model.safetensors.index.json", ec);  // a stale index would shadow the new file
  QuantizeReport rep;
  rep.bytes_in = ck.data_bytes();
  {
    SafetensorsWriter w((out / "model.safetensors").string(), specs,
                        {{"format", "pt"}, {"quantization", quant_format_name(opt.type)},
                         {"quantization_block_size", std::to_string(kQuantBlock)}});
    std::vector<uint8_t> q;
    std::vector<uint16_t> sc;
    for (const Item& it : items) {
      const TensorView& t = *it.t;
      if (it.action == Action::Copy) {
        w.write(t.name, t.data, t.nbytes);
      } else if (it.action == Action::Convert) {
        std::vector<float> f(size_t(t.numel()));
        convert_to_f32(t.dtype, t.data, f.data(), f.size());
        if (it.convert_to == DType::F32) {
          w.write(t.name, f.data(), f.size() * 4);
        } else {
          std::vector<uint16_t> h(f.size());
          for (size_t i = 0; i < f.size(); ++i) h[i] = f32_to_bf16(f[i]);
          w.write(t.name, h.data(), h.size() * 2);
        }
      } else {
        rep.matrices.push_back(quantize_tensor(t, opt.type, q, sc));
        rep.padded += t.shape[1] % kQuantBlock != 0;
        w.write(t.name, q.data(), q.size());
        w.write(t.name + ".scales", sc.data(), sc.size() * 2);
      }
    }
    w.finish();
  }
  rep.bytes_out = size_t(fs::file_size(out / "model.safetensors"));

  // config.json last: until it names the format, a reader sees an inconsistent directory and says so.
  nlohmann::json cj = c.raw.is_object() ? c.raw : c.resolved_json();
  cj["quantization_config"] = {{"quant_method", "hybrid"},
                               {"format", quant_format_name(opt.type)},
                               {"block_size", kQuantBlock},
                               {"embedding", opt.keep_embedding ? std::string(dtype_name(*opt.keep_embedding))
                                                                : std::string(quant_format_name(opt.type))}};
  write_text(out / "config.json", cj.dump(2) + "\n");
  // Tokenizer and generation settings travel with the weights.
  for (auto& e : fs::directory_iterator(in_dir)) {
    if (!e.is_regular_file()) continue;
    const std::string fn = e.path().filename().string(), ext = e.path().extension().string();
    if (fn == "config.json" || fn == "model.safetensors.index.json") continue;
    if (ext != ".json" && ext != ".txt" && ext != ".model" && ext != ".tiktoken") continue;
    write_text(out / fn, read_file(e.path().string()));
  }
  fsync_dir(out_dir);
  return rep;
}

}  // namespace hyb
