// hybrid train: pretraining from a RUN.json (flags override it), with checkpoints and exact resume.
#include "cli/common.h"
#include "core/error.h"
#include "train/trainer.h"

namespace hyb::cli {

int run_train(int argc, char** argv) {
  CLI::App app{"Train a hybrid / transformer / GDN model from scratch on prepared data (`hybrid prepare`). Writes "
               "OUT/metrics.jsonl and OUT/checkpoint (an HF model directory plus optimizer and trainer state).",
               argv[0]};
  std::string config, out, data;
  int64_t steps = 0, until = 0;
  bool resume = false, quiet = false, doc_bounds = false;
  int threads = -1;
  app.add_option("-c,--config", config, "Run config (RUN.json)")->required();
  app.add_option("-o,--out", out, "Output directory (overrides \"out\")");
  app.add_option("--data", data, "Prepared data directory (overrides \"data\")");
  app.add_option("--steps", steps, "Planned steps; the LR schedule spans them (overrides \"steps\")")
      ->check(CLI::PositiveNumber);
  app.add_option("--until", until, "Stop (and checkpoint) after this step, keeping the schedule of --steps")
      ->check(CLI::PositiveNumber);
  app.add_flag("--resume", resume, "Continue from OUT/checkpoint (the run config must match it)");
  app.add_flag("--document-boundaries", doc_bounds,
               "Treat EOS-separated documents inside a window as separate sequences: GDN/conv state reset, "
               "attention masked, RoPE from 0, no label across a boundary (sets \"document_boundaries\"; off by "
               "default)");
  app.add_flag("-q,--quiet", quiet, "No progress output");
  app.add_option("-t,--threads", threads, "Threads (0 = all cores; overrides \"threads\")")
      ->check(CLI::NonNegativeNumber);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  RunConfig rc = RunConfig::load(config);
  if (!out.empty()) rc.out = out;
  if (!data.empty()) rc.data = data;
  if (steps > 0) rc.steps = steps;
  if (threads >= 0) rc.threads = threads;
  if (doc_bounds) rc.document_boundaries = true;
  set_threads(rc.threads);
  TrainOptions o;
  o.resume = resume;
  o.until = until;
  o.quiet = quiet;
  return train(rc, config, o);
}

}  // namespace hyb::cli
