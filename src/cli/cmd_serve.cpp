// hybrid serve: an OpenAI-compatible server with continuous batching and a prefix cache for hybrid models.
#include "cli/common.h"
#include "serve/server.h"

namespace hyb::cli {

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve a model over HTTP with the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models), "
               "plus /health, /tokenize, /detokenize and /metrics. Continuous batching; a prefix cache of whole-state "
               "snapshots (attention K/V + GDN state) reuses shared prompt prefixes and earlier chat turns. Prints "
               "'listening on http://HOST:PORT' when ready; SIGINT/SIGTERM stop it.",
               argv[0]};
  serve::ServeOptions o;
  app.add_option("-m,--model", o.model_dir, "Model directory (HF checkpoint; tokenizer.json enables text)")->required();
  app.add_option("--host", o.host, "Address to listen on")->default_val(o.host);
  app.add_option("--port", o.port, "Port (0 = any free port, printed at start)")->default_val(o.port)
      ->check(CLI::Range(0, 65535));
  app.add_option("--parallel", o.parallel, "Sequences generated at once (continuous batching)")->default_val(o.parallel)
      ->check(CLI::Range(1, 256));
  app.add_option("--max-queue", o.max_queue, "Waiting requests beyond which new ones get 429")->default_val(o.max_queue)
      ->check(CLI::Range(0, 100000));
  app.add_option("--api-key", o.api_key, "Require 'Authorization: Bearer KEY' (except on /health)");
  app.add_option("--cache-mb", o.cache_mb, "Prefix-cache budget in MiB (0 = off)")->default_val(o.cache_mb)
      ->check(NonNegative);
  app.add_option("--max-context", o.max_context, "Context limit in tokens (default: max_position_embeddings)")
      ->check(NonNegative);
  app.add_option("--name", o.model_name, "Model name in the API (default: the directory name)");
  add_weight_dtype(app, o.dtype, "auto");
  app.add_flag("--mmap", o.mmap,
               "Map the weight files instead of copying them into RAM (faster start; decode of batched rows measured "
               "~25% slower here: file pages get no huge pages)");
  add_threads(app, o.threads);
  ComputeFlags compute;
  compute.add(app, "fast");
  add_kv_dtype(app, o.kv_dtype);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  compute.apply();
  return serve::run_server(o);
}

}  // namespace hyb::cli
