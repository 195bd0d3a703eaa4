#include <cstdio>

#include "cli/common.h"
#include "model/cache.h"
#include "model/weights.h"

namespace hyb::cli {

int run_info(int argc, char** argv) {
  CLI::App app{"Show a checkpoint's config, layer pattern, parameter count, bytes and cache cost", argv[0]};
  std::string dir, dtype = "auto";
  app.add_option("-m,--model", dir, "Checkpoint directory (config.json + safetensors)")->required();
  add_weight_dtype(app, dtype, "auto");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;

  Weights w = Weights::load(dir, parse_weight_dtype(dtype));  // validates every tensor
  const ModelConfig& c = w.config();
  std::string pattern;
  for (auto k : c.layer_types) pattern += k == LayerKind::GDN ? 'G' : 'A';
  const size_t n = w.param_count();
  const size_t emb = size_t(c.vocab_size * c.hidden_size) * (c.tie_word_embeddings ? 1 : 2);
  std::printf("model        %s\n", dir.c_str());
  std::printf("config       %s\n", c.describe().c_str());
  std::printf("layers       %s  (G = Gated DeltaNet, A = full attention)\n", pattern.c_str());
  const size_t in_emb = size_t(c.vocab_size * c.hidden_size);
  std::printf("parameters   %zu (%.3f B); non-embedding %zu (also without lm_head: %zu)\n", n, double(n) / 1e9,
              n - in_emb, n - emb);
  std::printf("weights      %s in memory, %.3f GB\n", dtype_name(w.matrix_dtype), double(w.resident_bytes()) / 1e9);
  if (is_quant_dtype(w.matrix_dtype))
    std::printf("quantized    %s, %lld weights per block with an f16 scale; embedding %s\n",
                quant_format_name(w.matrix_dtype), (long long)kQuantBlock, dtype_name(w.embed.dtype));
  std::printf("cache        %zu bytes/token (K/V of %d attention layers) + %zu bytes fixed (GDN state of %d layers)\n",
              Cache::bytes_per_token(c), c.count(LayerKind::Attention), Cache::fixed_bytes(c), c.count(LayerKind::GDN));
  std::printf("tokens       eos %s, pad %s, bos %s\n",
              c.eos_token_id ? std::to_string(*c.eos_token_id).c_str() : "none",
              c.pad_token_id ? std::to_string(*c.pad_token_id).c_str() : "none",
              c.bos_token_id ? std::to_string(*c.bos_token_id).c_str() : "none");
  return 0;
}

}  // namespace hyb::cli
