#include <cstdio>
#include <map>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "model/quantize.h"
#include "model/quantize_checkpoint.h"

namespace hyb::cli {

namespace {

// "model.layers.7.mlp.up_proj.weight" -> "mlp.up_proj.weight": errors are summarised per kind of matrix.
std::string matrix_kind(const std::string& name) {
  const std::string pre = "layers.";
  auto p = name.find(pre);
  if (p == std::string::npos) return name;
  auto dot = name.find('.', p + pre.size());
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

int run_quantize(int argc, char** argv) {
  CLI::App app{"Quantize a checkpoint's linear weights to block-wise int8 (q8_0) or 4-bit (q4_0), 32 per block",
               argv[0]};
  std::string in, out, type, keep;
  bool verbose = false;
  int threads = 0;
  app.add_option("-m,--model", in, "Input checkpoint directory (F32/BF16/F16, single or sharded)")->required();
  app.add_option("-o,--out", out, "Output checkpoint directory")->required();
  app.add_option("--type", type, "int8 (q8_0) or q4 (q4_0)")->required();
  app.add_option("--keep-embedding", keep, "Keep the embedding unquantized: f32 or bf16");
  app.add_flag("-v,--verbose", verbose, "Print the error of every matrix");
  add_threads(app, threads);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);

  QuantizeOptions opt;
  opt.type = parse_quant_type(type, "--type");
  if (keep == "f32" || keep == "float32") opt.keep_embedding = DType::F32;
  else if (keep == "bf16" || keep == "bfloat16") opt.keep_embedding = DType::BF16;
  else if (!keep.empty()) fail("--keep-embedding: '", keep, "' is not one of f32, bf16");

  Timer t;
  const QuantizeReport r = quantize_checkpoint(in, out, opt);
  std::map<std::string, std::pair<int, std::pair<double, double>>> kinds;  // kind -> count, (sum, max) rel RMS
  double sum = 0, worst = 0, worst_abs = 0;
  std::string worst_name;
  for (auto& m : r.matrices) {
    auto& k = kinds[matrix_kind(m.name)];
    k.first += 1;
    k.second.first += m.rel_rms;
    k.second.second = std::max(k.second.second, m.rel_rms);
    sum += m.rel_rms;
    worst_abs = std::max(worst_abs, m.max_abs);
    if (m.rel_rms >= worst) { worst = m.rel_rms; worst_name = m.name; }
    if (verbose)
      std::printf("  %-56s [%lld, %lld]  rel RMS %.5f  max abs %.3g\n", m.name.c_str(), (long long)m.rows,
                  (long long)m.cols, m.rel_rms, m.max_abs);
  }
  std::printf("quantized %s -> %s: %s, %zu matrices in %.1f s\n", in.c_str(), out.c_str(),
              quant_format_name(opt.type), r.matrices.size(), t.seconds());
  std::printf("bytes        %.3f GB -> %.3f GB (%.2fx smaller)\n", double(r.bytes_in) / 1e9, double(r.bytes_out) / 1e9,
              double(r.bytes_in) / double(std::max<size_t>(r.bytes_out, 1)));
  std::printf("embedding    %s\n", opt.keep_embedding ? dtype_name(*opt.keep_embedding) : quant_format_name(opt.type));
  std::printf("rel RMS err  mean %.5f, max %.5f (%s); max abs err %.3g\n",
              r.matrices.empty() ? 0.0 : sum / double(r.matrices.size()), worst, worst_name.c_str(), worst_abs);
  for (auto& [k, v] : kinds)
    std::printf("  %-36s %4d  mean %.5f  max %.5f\n", k.c_str(), v.first, v.second.first / v.first, v.second.second);
  if (r.padded) std::printf("note         %d matrices have K not a multiple of 32 (last block zero-padded)\n", r.padded);
  return 0;
}

}  // namespace hyb::cli
