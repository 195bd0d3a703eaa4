#include "train/trainer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "model/init.h"
#include "train/adamw.h"
#include "core/phase_profile.h"
#include "train/grad_model.h"
#include "train/token_shards.h"
#include "train/train_checkpoint.h"
#include "train/window_sampler.h"

namespace hyb {

namespace fs = std::filesystem;

MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq_len) {
  size_t n = 0;
  for (const auto& p : canonical_params(c)) {
    size_t k = 1;
    for (int64_t d : p.shape) k *= size_t(d);
    n += k;
  }
  MemoryEstimate m;
  m.params = 2.0 * 4.0 * double(n);     // parameters + gradients
  m.optimizer = 2.0 * 4.0 * double(n);  // exp_avg + exp_avg_sq
  // Per token and layer, the GradModel keeps roughly these [N, ·] activations (see grad_model.h Acts) plus one
  // layer's backward scratch of the same order.
  const double D = double(c.hidden_size), I = double(c.intermediate_size);
  const double gdn = 6 * D + 3 * double(c.conv_dim()) + 3 * double(c.value_dim()) + 3 * I +
                     6 * double(c.linear_num_value_heads);
  const double attn = 6 * D + 4 * double(c.q_dim()) + 4 * double(c.kv_dim()) + 3 * I;
  double per_token = 0;
  for (LayerKind k : c.layer_types) per_token += k == LayerKind::GDN ? gdn : attn;
  per_token += 2 * std::max(gdn, attn) + 6 * D;
  m.activations = 4.0 * per_token * double(batch) * double(seq_len + 1);
  return m;
}

namespace {

double physical_memory() {
  return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  const long t = long(s + 0.5);
  char b[32];
  if (t >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

// metrics.jsonl after a resume: the lines up to the checkpoint's step, so the file reads as one run.
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, keep;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t(0)) <= step) keep += line + "\n";
  }
  AtomicFile f(path);
  f.write(keep.data(), keep.size());
  f.commit();
}

std::string fmt_double(double v) {
  if (!std::isfinite(v)) return "null";
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);  // round-trips exactly: resume comparisons are bitwise
  return b;
}

}  // namespace

int train(const RunConfig& rc, const std::string& run_path, const TrainOptions& opt) {
  rc.validate();
  if (rc.threads > 0) set_threads(rc.threads);
  const TokenData data = TokenData::open(rc.data);
  const ModelConfig cfg = resolve_model(rc.model, run_path, data.vocab_size(), data.eos_id(), data.pad_id());
  const int64_t B = rc.batch, T = rc.seq_len, W = T + 1;

  // Refuse before allocating anything large.
  const MemoryEstimate mem = estimate_memory(cfg, B, T);
  const double phys = physical_memory();
  if (mem.total() > 0.9 * phys)
    fail(run_path, ": this run needs about ", mem.total() / 1e9, " GB (parameters+gradients ", mem.params / 1e9,
         ", AdamW moments ", mem.optimizer / 1e9, ", activations for batch ", B, " x seq_len ", T, ": ",
         mem.activations / 1e9, ") but the machine has ", phys / 1e9, " GB; lower batch, seq_len or the model size");

  const WindowSampler train_windows(data.train(), W, rc.seed, "train");
  std::unique_ptr<WindowSampler> val_windows;
  if (rc.eval_batches > 0) val_windows = std::make_unique<WindowSampler>(data.val(), W, rc.seed ^ 0x5eedull, "val");

  nlohmann::json identity = rc.identity();
  identity["model"] = cfg.resolved_json();
  identity["data"] = data.fingerprint();

  std::error_code ec;
  fs::create_directories(rc.out, ec);
  if (!fs::is_directory(rc.out)) fail(rc.out, ": cannot create output directory");
  const std::string metrics_path = (fs::path(rc.out) / "metrics.jsonl").string();

  ParamTensors params(cfg), grads(cfg);
  AdamW adam(cfg, rc.adamw());
  int64_t step = 0;
  const std::string found = find_checkpoint(rc.out);
  if (opt.resume) {
    if (found.empty()) fail(rc.out, ": --resume: no complete checkpoint in this directory");
    const TrainState st = read_train_state(found);
    if (st.identity != identity) {
      std::string diff;
      for (auto it = identity.begin(); it != identity.end(); ++it)
        if (!st.identity.contains(it.key()) || st.identity[it.key()] != it.value())
          diff += std::string(diff.empty() ? "" : ", ") + it.key();
      for (auto it = st.identity.begin(); it != st.identity.end(); ++it)
        if (!identity.contains(it.key())) diff += std::string(diff.empty() ? "" : ", ") + it.key();
      fail(found, ": --resume: the run config differs from the checkpoint's in: ", diff,
           " (resume needs the same model, data and optimisation settings)");
    }
    load_train_checkpoint(found, params, adam);
    step = st.step;
    truncate_metrics(metrics_path, step);
    std::fprintf(stderr, "resuming from %s at step %ld\n", found.c_str(), long(step));
  } else {
    if (!found.empty())
      fail(rc.out, ": already holds a checkpoint (", found, "); pass --resume to continue it or choose another --out");
    const std::string tmp = (fs::path(rc.out) / "init.partial").string();
    InitOptions io;
    io.seed = rc.seed;
    init_checkpoint(cfg, tmp, io);
    params.copy_from(Weights::load(tmp, WeightDType::F32));
    fs::remove_all(tmp, ec);
    std::ofstream(metrics_path, std::ios::trunc);
  }
  const int64_t stop = opt.until > 0 ? std::min(opt.until, rc.steps) : rc.steps;

  size_t nparams = 0;
  for (size_t i = 0; i < params.specs().size(); ++i) nparams += size_t(params.numel(i));
  if (!opt.quiet)
    std::fprintf(stderr, "model: %zu parameters (%s); data: %ld train / %ld val tokens; batch %ld x %ld; %d threads; "
                 "memory ~%.2f GB\n",
                 nparams, cfg.describe().c_str(), long(data.train().tokens()), long(data.val().tokens()), long(B),
                 long(T), num_threads(), mem.total() / 1e9);

  const Weights view = params.view();
  GradModel gm(view);
  if (rc.document_boundaries) {
    if (!cfg.eos_token_id) fail(rc.data, ": document_boundaries needs an EOS id, and the data has none");
    gm.set_document_boundaries(int32_t(*cfg.eos_token_id));
  }
  const LrSchedule sched = rc.lr_schedule();
  std::vector<int32_t> ids(size_t(B * W));
  // Synthetic-task data scores only answer positions: its labels replace the shifted ids as targets.
  const bool labelled = data.train().has_labels();
  if (labelled != data.val().has_labels()) fail(rc.data, ": train and val splits must both have labels, or neither");
  std::vector<int32_t> labels(labelled ? size_t(B * W) : 0);
  int32_t* lab = labelled ? labels.data() : nullptr;
  std::FILE* metrics = std::fopen(metrics_path.c_str(), "a");
  if (!metrics) fail(metrics_path, ": cannot open for appending");
  const bool tty = isatty(fileno(stderr));
  Timer clock;
  const int64_t first = step;
  double last_print = -1;
  int64_t last_ckpt = step;

  auto evaluate = [&]() {
    double sum = 0;
    for (int64_t i = 0; i < rc.eval_batches; ++i) {
      val_windows->batch(i, B, ids.data(), lab);
      sum += gm.loss(ids.data(), B, W, lab).loss;
    }
    return sum / double(rc.eval_batches);
  };
  auto checkpoint = [&]() {
    TrainState st;
    st.step = step;
    st.tokens = step * B * T;
    st.identity = identity;
    save_train_checkpoint(rc.out, params, adam, st, rc.data);
    last_ckpt = step;
  };

  while (step < stop) {
    train_windows.batch(step, B, ids.data(), lab);
    const LossStats ls = gm.loss_and_grads(ids.data(), B, W, grads, rc.z_loss, lab);
    PhaseProfile::Scope ps_clip("grad clip");
    const double gnorm = clip_grad_norm(grads, rc.grad_clip);
    ps_clip.stop();
    if (!std::isfinite(ls.loss) || !std::isfinite(gnorm)) {
      std::fclose(metrics);
      if (tty) std::fputc('\n', stderr);
      const std::string last = find_checkpoint(rc.out);
      fail("step ", step + 1, ": ", std::isfinite(ls.loss) ? "gradient norm" : "loss", " is not finite (loss ",
           ls.loss, ", grad_norm ", gnorm, "); stopped without updating. Last good checkpoint: ",
           last.empty() ? std::string("none") : last, " (lower lr, raise warmup or enable grad_clip)");
    }
    const double lr = sched.lr(step + 1);
    {
      PhaseProfile::Scope ps("adamw");
      adam.update(params, grads, lr);
    }
    PhaseProfile::get().report("training step");
    ++step;
    const int64_t tokens = step * B * T;
    double val = NAN;
    const bool eval_now = val_windows && ((rc.eval_interval > 0 && step % rc.eval_interval == 0) || step == rc.steps);
    if (eval_now) val = evaluate();
    std::fprintf(metrics, "{\"step\": %ld, \"tokens\": %ld, \"loss\": %s, \"lr\": %s, \"grad_norm\": %s%s%s}\n",
                 long(step), long(tokens), fmt_double(ls.loss).c_str(), fmt_double(lr).c_str(),
                 fmt_double(gnorm).c_str(), eval_now ? ", \"val_loss\": " : "", eval_now ? fmt_double(val).c_str() : "");
    std::fflush(metrics);

    const double el = clock.seconds();
    const double tps = double((step - first) * B * T) / std::max(el, 1e-9);
    const bool print = opt.quiet ? false
                       : rc.log_interval > 0 ? step % rc.log_interval == 0 || step == stop || eval_now
                                             : el - last_print >= 1.0 || step == stop || eval_now;
    if (print) {
      last_print = el;
      char line[256];
      std::snprintf(line, sizeof line, "step %ld/%ld | loss %.4f | lr %.2e | gnorm %.3f | %.0f tok/s | ETA %s",
                    long(step), long(rc.steps), ls.loss, lr, gnorm, tps,
                    hms(double(stop - step) * el / double(step - first)).c_str());
      std::string s = line;
      if (eval_now) {
        char v[64];
        std::snprintf(v, sizeof v, " | val_loss %.4f", val);
        s += v;
      }
      if (tty && !eval_now && step != stop) std::fprintf(stderr, "\r%s\033[K", s.c_str());
      else std::fprintf(stderr, "%s%s%s\n", tty ? "\r" : "", s.c_str(), tty ? "\033[K" : "");
      if (!tty) std::fflush(stderr);
    }
    if (rc.checkpoint_interval > 0 && step % rc.checkpoint_interval == 0 && step != stop) checkpoint();
  }
  std::fclose(metrics);
  if (last_ckpt != step || find_checkpoint(rc.out).empty()) checkpoint();
  if (!opt.quiet)
    std::fprintf(stderr, "done: step %ld, %.1f s, checkpoint %s\n", long(step), clock.seconds(),
                 find_checkpoint(rc.out).c_str());
  return 0;
}

}  // namespace hyb
