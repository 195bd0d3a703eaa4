#include <cstdio>
#include <vector>

#include "cli/common.h"
#include "cli/posttrain_args.h"
#include "core/error.h"
#include "core/npy.h"
#include "train/grad_model.h"
#include "train/grads_io.h"
#include "train/posttrain_objective.h"

namespace hyb::cli {

int run_grads(int argc, char** argv) {
  CLI::App app{"Loss of one batch and its gradient with respect to every parameter, written as F32 under the "
               "checkpoint's tensor names. --ids: mean next-token cross-entropy (labels = ids shifted by one). "
               "--sft: token mean over the scored (assistant) tokens of every row. --dpo: a preference loss over "
               "every pair, against the reference model --ref",
               argv[0]};
  std::string dir, ids_path, sft_path, dpo_path, ref_dir, out, loss_name = "dpo_norm";
  double z_loss = 0;
  int64_t pack = 0;
  PrefLossConfig pc;
  PostTrainArgs pa;
  app.add_option("-m,--model", dir, "Checkpoint directory")->required();
  auto* o_ids = app.add_option("--ids", ids_path, "Token ids .npy (int32/int64, shape [T] or [B, T]; T >= 2)");
  auto* o_sft = app.add_option("--sft", sft_path, "SFT JSONL (messages, or input_ids + labels)");
  auto* o_dpo = app.add_option("--dpo", dpo_path, "Preference JSONL (chosen/rejected conversations, prompt + "
                               "chosen + rejected, or prompt_ids + chosen_ids + rejected_ids)");
  o_ids->excludes(o_sft)->excludes(o_dpo);
  o_sft->excludes(o_dpo);
  app.add_option("-o,--out", out, "Output .safetensors with one F32 gradient per checkpoint tensor")->required();
  app.add_option("--z-loss", z_loss, "With --ids: add z_loss · mean(logsumexp²) to the loss")
      ->default_val(0.0)->check(NonNegative);
  app.add_option("--pack", pack, "With --sft/--dpo: pack rows into forward passes of at most T tokens (each row "
                 "still its own sequence; DPO pairs stay together) and accumulate; 0 = all rows in one pass, 1 = one "
                 "row (pair) per pass")
      ->default_val(0)->check(NonNegative);
  app.add_option("--ref", ref_dir, "With --dpo: the reference model (dpo, dpo_norm)");
  app.add_option("--loss", loss_name, "With --dpo: dpo | dpo_norm | simpo")->default_val(loss_name)
      ->check(CLI::IsMember({"dpo", "dpo_norm", "simpo"}));
  app.add_option("--beta", pc.beta, "With --dpo: β")->default_val(pc.beta)->check(Positive);
  app.add_option("--label-smoothing", pc.label_smoothing, "With --dpo: ε")->default_val(0.0)
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--gamma-ratio", pc.gamma_ratio, "With --loss simpo: γ/β")->default_val(pc.gamma_ratio)
      ->check(NonNegative);
  pa.add(app);
  RunFlags run;
  run.add(app, "exact", /*with_gdn=*/false);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  run.apply();
  if (ids_path.empty() && sft_path.empty() && dpo_path.empty()) fail("grads: give one of --ids, --sft, --dpo");
  pc.kind = parse_pref_loss(loss_name);
  if (!dpo_path.empty() && needs_reference(pc.kind) && ref_dir.empty())
    fail("grads --dpo: --loss ", loss_name, " needs --ref REF_DIR (the reference model)");

  const Weights w = Weights::load(dir, WeightDType::F32);
  const ModelConfig& c = w.config();
  GradModel gm(w);
  ParamTensors grads(c);

  if (!ids_path.empty()) {
    const auto rows = npy_read_ids(ids_path, c.vocab_size);
    const int64_t B = int64_t(rows.size()), T = int64_t(rows[0].size());
    if (T < 2) fail(ids_path, ": need at least 2 ids per sequence for a next-token loss, got ", T);
    std::vector<int32_t> ids;
    for (auto& r : rows) ids.insert(ids.end(), r.begin(), r.end());
    const LossStats s = gm.loss_and_grads(ids.data(), B, T, grads, z_loss);
    const size_t n = write_like_checkpoint(dir, grads, out);
    std::printf("loss %.9f\n", s.loss);
    if (z_loss > 0) std::printf("z_loss %.9f\n", z_loss * s.z_mean);
    std::fprintf(stderr, "wrote %s (%zu tensors, %ld targets)\n", out.c_str(), n, long(s.count));
    return 0;
  }

  const auto tok = pa.load_tokenizer(dir);
  PostTrainDataStats st;
  if (!sft_path.empty()) {
    const auto rows = load_sft_jsonl(sft_path, tok.get(), pa.options(c.vocab_size), &st);
    std::vector<const ScoredRow*> rp;
    for (const auto& r : rows) rp.push_back(&r);
    const LossStats s = sft_loss(gm, rp, pack, &grads);
    const size_t n = write_like_checkpoint(dir, grads, out);
    std::printf("loss %.9f\n", s.loss);
    std::fprintf(stderr, "%s: %s; wrote %s (%zu tensors, %ld scored tokens)\n", sft_path.c_str(), st.summary().c_str(),
                 out.c_str(), n, long(s.count));
    return 0;
  }
  const auto pairs = load_pref_jsonl(dpo_path, tok.get(), pa.options(c.vocab_size), &st);
  std::vector<const ScoredRow*> seqs;
  for (const auto& p : pairs) {
    seqs.push_back(&p.chosen);
    seqs.push_back(&p.rejected);
  }
  SeqLogps ref;
  if (needs_reference(pc.kind)) {
    const Weights rw = Weights::load(ref_dir, WeightDType::F32);
    if (rw.config().vocab_size != c.vocab_size)
      fail(ref_dir, ": the reference model's vocabulary (", rw.config().vocab_size, ") differs from the model's (",
           c.vocab_size, ")");
    GradModel rg(rw);
    ref = row_logps(rg, seqs, pack);
  }
  const PrefMetrics m = pref_loss(gm, seqs, needs_reference(pc.kind) ? &ref : nullptr, pc, pack, &grads);
  const size_t n = write_like_checkpoint(dir, grads, out);
  std::printf("loss %.9f\n", m.loss);
  std::printf("rewards/chosen %.6f\nrewards/rejected %.6f\nrewards/accuracies %.6f\nrewards/margins %.6f\n"
              "logps/chosen %.6f\nlogps/rejected %.6f\n",
              m.reward_chosen, m.reward_rejected, m.accuracy, m.margin, m.logp_chosen, m.logp_rejected);
  std::fprintf(stderr, "%s: %s; %s, beta %g; wrote %s (%zu tensors)\n", dpo_path.c_str(), st.summary().c_str(),
               pref_loss_name(pc.kind), pc.beta, out.c_str(), n);
  return 0;
}

}  // namespace hyb::cli
