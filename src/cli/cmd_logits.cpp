#include <cstdio>
#include <vector>

#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "model/model.h"

namespace hyb::cli {

int run_logits(int argc, char** argv) {
  CLI::App app{"Write float32 logits [T, vocab] of a full prefill, or with --decode-from P the [T-P, vocab] logits of "
               "single-token decode steps after a P-token cached prefill",
               argv[0]};
  std::string dir, ids_path, out, dtype = "auto", state_out;
  int64_t decode_from = -1;
  int threads = 0;
  ComputeFlags compute;
  LoadFlags load;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  app.add_option("--ids", ids_path, "Token ids .npy (int32/int64, shape [T] or [B, T])")->required();
  app.add_option("-o,--out", out, "Output .npy (float32 [T, vocab], or [B, T, vocab] for 2-D ids)")->required();
  app.add_option("--decode-from", decode_from, "Prefill P tokens, then decode the rest one token at a time");
  add_weight_dtype(app, dtype, "auto");
  load.add(app);
  app.add_option("--state-out", state_out, "Also write the first GDN layer's final recurrent state [Hv, dk, dv]");
  add_threads(app, threads);
  compute.add(app, "exact");
  std::string kv_dtype;
  add_kv_dtype(app, kv_dtype);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  compute.apply();

  Model model(Weights::load(dir, parse_weight_dtype(dtype), load.use_mmap(dir)));
  model.set_kv_dtype(parse_kv_dtype(kv_dtype));
  const ModelConfig& c = model.config();
  const auto rows = npy_read_ids(ids_path, c.vocab_size);
  const int64_t B = int64_t(rows.size()), T = int64_t(rows[0].size()), V = c.vocab_size;
  if (decode_from != -1 && (decode_from < 1 || decode_from >= T))
    fail("--decode-from: P=", decode_from, " must satisfy 1 <= P < T=", T);
  const int64_t P = decode_from == -1 ? T : decode_from;
  const int64_t out_T = decode_from == -1 ? T : T - P;
  std::vector<float> logits(size_t(B * out_T * V));
  std::vector<float> state;
  int first_gdn = -1;
  for (size_t l = 0; l < c.layer_types.size(); ++l)
    if (c.layer_types[l] == LayerKind::GDN) { first_gdn = int(l); break; }
  if (!state_out.empty() && first_gdn < 0) fail("--state-out: this model has no GDN layer");

  constexpr int64_t kChunk = 1024;  // bounds activation memory for long inputs; a multiple of the GDN chunk
  for (int64_t b = 0; b < B; ++b) {
    Cache cache = model.new_cache();
    const int32_t* ids = rows[b].data();
    float* dst = logits.data() + b * out_T * V;
    if (decode_from == -1) {
      for (int64_t t0 = 0; t0 < T; t0 += kChunk)
        model.forward(ids + t0, std::min(kChunk, T - t0), cache, dst + t0 * V);
    } else {
      std::vector<float> tmp(static_cast<size_t>(V));
      for (int64_t t0 = 0; t0 < P; t0 += kChunk)
        model.forward(ids + t0, std::min(kChunk, P - t0), cache, tmp.data(), true);
      for (int64_t t = P; t < T; ++t) model.forward(ids + t, 1, cache, dst + (t - P) * V, true);
    }
    if (b == B - 1 && first_gdn >= 0) state = cache.layers[size_t(first_gdn)].state;
  }
  std::vector<int64_t> shape = {out_T, V};
  if (B > 1 || rows.size() > 1) shape.insert(shape.begin(), B);
  npy_write_f32(out, shape, logits.data());
  if (!state_out.empty())
    npy_write_f32(state_out, {c.linear_num_value_heads, c.linear_key_head_dim, c.linear_value_head_dim}, state.data());
  std::fprintf(stderr, "wrote %s [%s%ld, %ld]\n", out.c_str(), B > 1 ? (std::to_string(B) + ", ").c_str() : "",
               long(out_T), long(V));
  return 0;
}

}  // namespace hyb::cli
