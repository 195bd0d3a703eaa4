// hybrid sft / hybrid dpo: post-training from a RUN.json (flags override it) on the trainer loop of `hybrid train`.
#include "cli/common.h"
#include "cli/train_flags.h"
#include "core/error.h"
#include "train/posttrain.h"

namespace hyb::cli {

namespace {

int run_posttrain(int argc, char** argv, PostTrainKind kind) {
  const bool dpo = kind == PostTrainKind::Dpo;
  CLI::App app{dpo ? "Preference-tune a checkpoint (DPO, dpo_norm or SimPO) on JSONL pairs: rows {chosen, rejected} "
                     "conversations, {prompt, chosen, rejected}, or {prompt_ids, chosen_ids, rejected_ids}. "
                     "Reference log-probs are computed once and cached in OUT/ref_logps.json. Logs TRL's metrics "
                     "(rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/*) to "
                     "OUT/metrics.jsonl and writes OUT/checkpoint (an HF model directory)."
                   : "Supervised fine-tuning of a checkpoint on JSONL chats ({messages}) or pre-tokenized rows "
                     "({input_ids, labels}): token-mean cross-entropy over the assistant tokens, rows packed as "
                     "separate sequences. Writes OUT/metrics.jsonl and OUT/checkpoint (an HF model directory).",
               argv[0]};
  TrainFlags f;
  std::string init_from;
  int64_t epochs = 0;
  f.add(app, "Run config (RUN.json: init_from, data, batch, lr, epochs, max_len, pack" +
                 std::string(dpo ? ", loss, beta, label_smoothing, ref" : "") + ", ...)",
        "JSONL data (overrides \"data\")");
  app.add_option("--init-from", init_from, "Checkpoint to start from (overrides \"init_from\")");
  app.add_option("--epochs", epochs, "Epochs (overrides \"epochs\"; steps = epochs x ceil(rows / batch))")
      ->check(Positive);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  RunConfig rc = f.load();
  if (!init_from.empty()) rc.init_from = init_from;
  if (epochs > 0) rc.epochs = epochs;
  return posttrain(rc, kind, f.options(rc));
}

}  // namespace

int run_sft(int argc, char** argv) { return run_posttrain(argc, argv, PostTrainKind::Sft); }
int run_dpo(int argc, char** argv) { return run_posttrain(argc, argv, PostTrainKind::Dpo); }

}  // namespace hyb::cli
