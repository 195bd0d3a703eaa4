// hybrid train: pretraining from a RUN.json (flags override it), with checkpoints and exact resume.
#include "cli/common.h"
#include "cli/train_flags.h"
#include "core/error.h"

namespace hyb::cli {

int run_train(int argc, char** argv) {
  CLI::App app{"Train a hybrid / transformer / GDN model from scratch on prepared data (`hybrid prepare`). Writes "
               "OUT/metrics.jsonl and OUT/checkpoint (an HF model directory plus optimizer and trainer state).",
               argv[0]};
  TrainFlags f;
  bool doc_bounds = false;
  f.add(app, "Run config (RUN.json)", "Prepared data directory (overrides \"data\")");
  app.add_flag("--document-boundaries", doc_bounds,
               "Treat EOS-separated documents inside a window as separate sequences: GDN/conv state reset, "
               "attention masked, RoPE from 0, no label across a boundary (sets \"document_boundaries\"; off by "
               "default)");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  RunConfig rc = f.load();
  if (doc_bounds) rc.document_boundaries = true;
  return train(rc, f.config, f.options(rc));
}

}  // namespace hyb::cli
