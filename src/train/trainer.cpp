#include "train/trainer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/heap_reuse.h"
#include "core/threads.h"
#include "core/timer.h"
#include "model/init.h"
#include "train/adamw.h"
#include "core/phase_profile.h"
#include "train/grad_model.h"
#include "train/token_shards.h"
#include "train/train_checkpoint.h"
#include "train/window_sampler.h"
#include "train/zero_shard.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {
size_t count_params(const ModelConfig& c) {
  size_t n = 0;
  for (const auto& p : canonical_params(c)) {
    size_t k = 1;
    for (int64_t d : p.shape) k *= size_t(d);
    n += k;
  }
  return n;
}
}  // namespace

MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq_len) {
  const size_t n = count_params(c);
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

namespace {

// Pretraining: windows of prepared token shards, next-token cross-entropy (+ z-loss); synthetic-task data scores
// its labelled positions only.
class NextTokenObjective : public Objective {
 public:
  NextTokenObjective(const RunConfig& rc, const TokenData& data)
      : rc_(rc), windows_(data.train(), rc.seq_len + 1, rc.seed, "train"), labelled_(data.train().has_labels()) {
    if (labelled_ != data.val().has_labels()) fail(rc.data, ": train and val splits must both have labels, or neither");
    if (rc.eval_batches > 0) val_ = std::make_unique<WindowSampler>(data.val(), rc.seq_len + 1, rc.seed ^ 0x5eedull, "val");
    ids_.resize(size_t(rc.batch * (rc.seq_len + 1)));
    if (labelled_) labels_.resize(ids_.size());
  }
  Step step(int64_t step, BatchPart part, GradModel& gm, ParamTensors& grads) override {
    const int64_t B = rc_.batch, W = rc_.seq_len + 1, n = B / part.count;
    int32_t* lab = labelled_ ? labels_.data() : nullptr;
    windows_.batch(step, B, ids_.data(), lab);  // all rows (cheap); the part is rows [index·n, (index+1)·n)
    const size_t off = size_t(part.index * n * W);
    Step s;
    const LossStats ls = gm.loss_and_grads(ids_.data() + off, n, W, grads, rc_.z_loss, lab ? lab + off : nullptr);
    s.loss = ls.loss;
    s.weight = double(ls.count);
    s.tokens = n * rc_.seq_len;
    return s;
  }
  bool has_validation() const override { return val_ != nullptr; }
  double validate(GradModel& gm) override {
    const int64_t B = rc_.batch, W = rc_.seq_len + 1;
    int32_t* lab = labelled_ ? labels_.data() : nullptr;
    double sum = 0;
    for (int64_t i = 0; i < rc_.eval_batches; ++i) {
      val_->batch(i, B, ids_.data(), lab);
      sum += gm.loss(ids_.data(), B, W, lab).loss;
    }
    return sum / double(rc_.eval_batches);
  }

 private:
  const RunConfig& rc_;
  WindowSampler windows_;
  std::unique_ptr<WindowSampler> val_;
  bool labelled_;
  std::vector<int32_t> ids_, labels_;
};

std::string metrics_fields(const nlohmann::json& m) {
  std::string out;
  for (auto it = m.begin(); it != m.end(); ++it)
    out += ", \"" + it.key() + "\": " + (it->is_number() ? fmt_double(it->get<double>()) : it->dump());
  return out;
}

}  // namespace

MemoryEstimate check_memory(const ModelConfig& cfg, int64_t tokens_per_pass, int ranks, int64_t parts,
                            int local_ranks) {
  MemoryEstimate mem = estimate_memory(cfg, 1, tokens_per_pass);
  if (parts > 1) mem.params *= 1.5;  // a second gradient buffer: the micro-batch's, beside the accumulated one
  mem.optimizer /= double(std::max(ranks, 1));  // ZeRO-1: each rank keeps the moments of its shard only
  const double phys = physical_memory(), need = mem.total() * double(std::max(local_ranks, 1));
  if (need > 0.9 * phys)
    fail("this run needs about ", need / 1e9, " GB", local_ranks > 1 ? str(" (", local_ranks, " ranks on this host)") : "",
         " (per rank: parameters+gradients ", mem.params / 1e9, ", AdamW moments ", mem.optimizer / 1e9,
         ", activations for ", tokens_per_pass, " tokens per pass: ", mem.activations / 1e9, ") but the machine has ",
         phys / 1e9, " GB; lower the batch, the sequence length (pack) or the model size, or raise --grad-accum");
  return mem;
}

namespace {

// Ranks, threads and micro-batches of a run, checked before anything large is read or allocated.
struct Parallelism {
  Communicator& comm;
  int64_t accum = 1, parts = 1;
};

Parallelism parallelism(const RunConfig& rc, const TrainOptions& opt) {
  Communicator& comm = opt.comm ? *opt.comm : world();
  Parallelism p{comm, std::max<int64_t>(opt.grad_accum, 1), 1};
  p.parts = int64_t(comm.size()) * p.accum;
  if (rc.batch % p.parts)
    fail("batch ", rc.batch, " must be a multiple of ranks x grad-accum = ", comm.size(), " x ", p.accum, " = ",
         p.parts, " (every micro-batch has the same number of rows)");
  // Several ranks on one host share its cores unless told otherwise.
  if (rc.threads <= 0 && comm.local_size() > 1)
    set_threads(std::max(1, int(std::thread::hardware_concurrency()) / comm.local_size()));
  return p;
}

// grads += w · part, the product rounded before the sum (this file is compiled without FMA contraction; see
// src/CMakeLists.txt): the accumulated gradient then has the same bits whether its parts were added here or by a
// 2-rank reduction.
void accumulate(ParamTensors& grads, ParamTensors& part, double w) {
  float* g = grads.data();
  float* p = part.data();
  const float fw = float(w);
  const int64_t n = int64_t(grads.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] *= fw;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] += p[i];
}

// Sums of a step's parts (weighted by their weights; counts added), in a fixed key order for the reduction.
struct StepSums {
  std::vector<std::string> metric_keys, count_keys;
  std::vector<double> v;  // [w·loss, w, tokens, w·metric..., count...]
  void add(const Objective::Step& s) {
    if (v.empty()) {
      for (auto it = s.metrics.begin(); it != s.metrics.end(); ++it) metric_keys.push_back(it.key());
      for (auto it = s.counts.begin(); it != s.counts.end(); ++it) count_keys.push_back(it.key());
      v.assign(3 + metric_keys.size() + count_keys.size(), 0.0);
    }
    v[0] += s.weight * s.loss;
    v[1] += s.weight;
    v[2] += double(s.tokens);
    for (size_t i = 0; i < metric_keys.size(); ++i) v[3 + i] += s.weight * s.metrics.at(metric_keys[i]).get<double>();
    for (size_t i = 0; i < count_keys.size(); ++i)
      v[3 + metric_keys.size() + i] += s.counts.at(count_keys[i]).get<double>();
  }
  Objective::Step combined() const {
    Objective::Step s;
    const double w = v[1];
    s.loss = w > 0 ? v[0] / w : 0.0;
    s.weight = w;
    s.tokens = int64_t(std::llround(v[2]));
    for (size_t i = 0; i < metric_keys.size(); ++i) s.metrics[metric_keys[i]] = w > 0 ? v[3 + i] / w : 0.0;
    for (size_t i = 0; i < count_keys.size(); ++i)
      s.counts[count_keys[i]] = int64_t(std::llround(v[3 + metric_keys.size() + i]));
    return s;
  }
};

}  // namespace

int train(const RunConfig& rc, const std::string& run_path, const TrainOptions& opt) {
  rc.validate();
  if (rc.threads > 0) set_threads(rc.threads);
  retain_freed_memory();  // every step reallocates the same buffers: reuse them instead of faulting them in
  const Parallelism par = parallelism(rc, opt);
  const TokenData data = TokenData::open(rc.data);
  TrainLoop loop{rc, resolve_model(rc.model, run_path, data.vocab_size(), data.eos_id(), data.pad_id()), {}, {}, rc.data,
                 [&rc](int64_t rows) { return rows * (rc.seq_len + 1); }, {}};
  // Before the samplers read anything.
  check_memory(loop.cfg, loop.tokens_per_pass(rc.batch / par.parts), par.comm.size(), par.parts,
               par.comm.local_size());
  loop.identity = rc.identity();
  loop.identity["model"] = loop.cfg.resolved_json();
  loop.identity["data"] = data.fingerprint();
  loop.init_params = [&](ParamTensors& params) {
    const std::string tmp = (fs::path(rc.out) / "init.partial").string();
    InitOptions io;
    io.seed = rc.seed;
    init_checkpoint(params.config(), tmp, io);
    params.copy_from(Weights::load(tmp, WeightDType::F32));
    std::error_code ec;
    fs::remove_all(tmp, ec);
  };
  loop.banner = str("data: ", data.train().tokens(), " train / ", data.val().tokens(), " val tokens; batch ", rc.batch,
                    " x ", rc.seq_len);
  NextTokenObjective obj(rc, data);
  return run_training(loop, obj, opt);
}

int run_training(const TrainLoop& loop, Objective& obj, const TrainOptions& opt) {
  const RunConfig& rc = loop.rc;
  const ModelConfig& cfg = loop.cfg;
  rc.validate();
  if (rc.threads > 0) set_threads(rc.threads);
  retain_freed_memory();  // every step reallocates the same buffers: reuse them instead of faulting them in
  const Parallelism par = parallelism(rc, opt);
  Communicator& comm = par.comm;
  const int ranks = comm.size();
  const bool lead = comm.rank() == 0;
  const bool quiet = opt.quiet || !lead;

  const MemoryEstimate mem =
      check_memory(cfg, loop.tokens_per_pass(rc.batch / par.parts), ranks, par.parts, comm.local_size());
  std::error_code ec;
  fs::create_directories(rc.out, ec);
  if (!fs::is_directory(rc.out)) fail(rc.out, ": cannot create output directory");
  const std::string metrics_path = (fs::path(rc.out) / "metrics.jsonl").string();
  const nlohmann::json& identity = loop.identity;

  // Arenas padded to ranks equal blocks (ZeRO-1 layout); the micro-batch gradient only when a step has parts.
  const ShardLayout shard = ShardLayout::make(count_params(cfg), comm.rank(), ranks);
  ParamTensors params(cfg, shard.padded()), grads(cfg, shard.padded());
  std::unique_ptr<ParamTensors> part_grads;
  if (par.parts > 1) part_grads = std::make_unique<ParamTensors>(cfg, shard.padded());
  AdamW adam(cfg, rc.adamw(), shard.lo(), shard.hi());
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
    if (lead) truncate_metrics(metrics_path, step);
    if (!quiet) std::fprintf(stderr, "resuming from %s at step %ld\n", found.c_str(), long(step));
  } else {
    if (!found.empty())
      fail(rc.out, ": already holds a checkpoint (", found, "); pass --resume to continue it or choose another --out");
    if (lead) {
      loop.init_params(params);
      std::ofstream(metrics_path, std::ios::trunc);
    }
    comm.broadcast(params.data(), params.size() * sizeof(float), 0);  // every replica starts from rank 0's
  }
  comm.barrier();  // no rank appends to metrics.jsonl or checkpoints before every rank has read the directory
  const int64_t stop = opt.until > 0 ? std::min(opt.until, rc.steps) : rc.steps;

  if (!quiet) {
    std::fprintf(stderr, "model: %zu parameters (%s); %s; %d threads; memory ~%.2f GB; products %s\n",
                 params.size(), cfg.describe().c_str(), loop.banner.c_str(), num_threads(), mem.total() / 1e9,
                 rc.precision == Precision::F32 ? "f32"
                 : bf16_products_available() ? "bf16 (AVX512-BF16, f32 accumulation)"
                                             : "f32 (bf16 asked for, but this CPU has no AVX512-BF16)");
    if (ranks > 1 || par.accum > 1)
      std::fprintf(stderr,
                   "data parallel: %d ranks (%s) x %ld micro-batches of %ld rows; ZeRO-1: AdamW moments of %zu "
                   "parameters per rank (%.2f GB), memory per rank ~%.2f GB\n",
                   ranks, comm.backend().c_str(), long(par.accum), long(rc.batch / par.parts),
                   shard.hi() - shard.lo(), mem.optimizer / 1e9, mem.total() / 1e9);
  }

  const Weights view = params.view(rc.precision);
  GradModel gm(view);
  if (rc.document_boundaries) {
    if (!cfg.eos_token_id) fail(rc.data, ": document_boundaries needs an EOS id, and the data has none");
    gm.set_document_boundaries(int32_t(*cfg.eos_token_id));
  }
  const LrSchedule sched = rc.lr_schedule();
  std::FILE* metrics = nullptr;
  if (lead && !(metrics = std::fopen(metrics_path.c_str(), "a"))) fail(metrics_path, ": cannot open for appending");
  const bool tty = isatty(fileno(stderr));
  Timer clock;
  const int64_t first = step;
  double last_print = -1;
  const double comm0 = comm.comm_seconds();
  int64_t last_ckpt = step, run_tokens = 0;
  // Tokens consumed before a resume are not known exactly for variable-length rows; trainer_state keeps the sum.
  int64_t tokens = found.empty() || !opt.resume ? 0 : read_train_state(found).tokens;

  auto checkpoint = [&]() {
    OptimizerState os{adam.exp_avg(), adam.exp_avg_sq(), adam.step()};
    if (ranks > 1) {  // gather the moment shards into the gradient buffers (free between steps)
      gather_shards(adam.exp_avg(), shard, comm, grads.data());
      gather_shards(adam.exp_avg_sq(), shard, comm, part_grads->data());
      os.exp_avg = grads.data();
      os.exp_avg_sq = part_grads->data();
    }
    if (lead) {
      TrainState st;
      st.step = step;
      st.tokens = tokens;
      st.identity = identity;
      save_train_checkpoint(rc.out, params, os, st, loop.files_from);
    }
    comm.barrier();
    last_ckpt = step;
  };

  while (step < stop) {
    Objective::Step os;
    if (par.parts == 1) {
      os = obj.step(step, BatchPart{0, 1}, gm, grads);
    } else {
      // Local micro-batches, their sum weighted by each one's weight, then the sum over ranks; the mean divides
      // by the global weight (scored tokens, pairs) once.
      StepSums sums;
      grads.zero();
      for (int64_t a = 0; a < par.accum; ++a) {
        const Objective::Step s =
            obj.step(step, BatchPart{int64_t(comm.rank()) * par.accum + a, par.parts}, gm, *part_grads);
        sums.add(s);
        accumulate(grads, *part_grads, s.weight);
      }
      PhaseProfile::Scope ps("grad reduce");
      comm.allreduce_sum(sums.v.data(), sums.v.size());
      comm.reduce_scatter_sum(grads.data(), shard.block);
      os = sums.combined();
      if (os.weight > 0) {
        const float inv = float(1.0 / os.weight);
        float* g = grads.data() + shard.lo();
        const int64_t n = int64_t(shard.hi() - shard.lo());
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) g[i] *= inv;
      }
    }
    PhaseProfile::Scope ps_clip("grad clip");
    const double gnorm = sharded_clip_grad_norm(grads.data(), shard, comm, rc.grad_clip);
    ps_clip.stop();
    if (!std::isfinite(os.loss) || !std::isfinite(gnorm)) {
      if (metrics) std::fclose(metrics);
      if (tty && !quiet) std::fputc('\n', stderr);
      const std::string last = find_checkpoint(rc.out);
      fail("step ", step + 1, ": ", std::isfinite(os.loss) ? "gradient norm" : "loss", " is not finite (loss ",
           os.loss, ", grad_norm ", gnorm, "); stopped without updating. Last good checkpoint: ",
           last.empty() ? std::string("none") : last, " (lower lr, raise warmup or enable grad_clip)");
    }
    const double lr = sched.lr(step + 1);
    {
      PhaseProfile::Scope ps("adamw");
      adam.update(params, grads, lr);
    }
    if (ranks > 1) {
      PhaseProfile::Scope ps("param all-gather");
      comm.allgather(params.data(), shard.block);
    }
    PhaseProfile::get().report("training step");
    ++step;
    tokens += os.tokens;
    run_tokens += os.tokens;
    double val = NAN;
    const bool eval_now = (obj.has_validation() || opt.in_loop_eval) &&
                          ((rc.eval_interval > 0 && step % rc.eval_interval == 0) || step == rc.steps);
    // every rank holds the whole model: each computes it (same bits)
    if (eval_now && obj.has_validation()) val = obj.validate(gm);
    InLoopEval in_loop;
    if (eval_now && opt.in_loop_eval && lead) {
      PhaseProfile::Scope ps("in-loop eval");
      in_loop = opt.in_loop_eval(gm);
    }
    const double el = clock.seconds();
    const double tps = double(run_tokens) / std::max(el, 1e-9);
    nlohmann::json extra = os.metrics;
    extra.update(os.counts);
    extra.update(in_loop.fields);
    if (metrics) {
      // tokens_per_s (since this process started) is the one field that is not a function of the run.
      std::fprintf(metrics,
                   "{\"step\": %ld, \"tokens\": %ld, \"loss\": %s, \"lr\": %s, \"grad_norm\": %s%s%s%s, "
                   "\"tokens_per_s\": %.1f}\n",
                   long(step), long(tokens), fmt_double(os.loss).c_str(), fmt_double(lr).c_str(),
                   fmt_double(gnorm).c_str(), metrics_fields(extra).c_str(),
                   eval_now && obj.has_validation() ? ", \"val_loss\": " : "",
                   eval_now && obj.has_validation() ? fmt_double(val).c_str() : "", tps);
      std::fflush(metrics);
    }

    const bool print = quiet ? false
                       : rc.log_interval > 0 ? step % rc.log_interval == 0 || step == stop || eval_now
                                             : el - last_print >= 1.0 || step == stop || eval_now;
    if (print) {
      last_print = el;
      char line[320];
      std::snprintf(line, sizeof line, "step %ld/%ld | loss %.4f%s | lr %.2e | gnorm %.3f | %.0f tok/s | ETA %s",
                    long(step), long(rc.steps), os.loss, obj.progress(os.metrics).c_str(), lr, gnorm, tps,
                    hms(double(stop - step) * el / double(step - first)).c_str());
      std::string s = line;
      if (ranks > 1) {
        char c[64];
        std::snprintf(c, sizeof c, " | comm %.0f%%", 100.0 * (comm.comm_seconds() - comm0) / std::max(el, 1e-9));
        s += c;
      }
      if (eval_now && obj.has_validation()) {
        char v[64];
        std::snprintf(v, sizeof v, " | val_loss %.4f", val);
        s += v;
      }
      s += in_loop.progress;
      if (tty && !eval_now && step != stop) std::fprintf(stderr, "\r%s\033[K", s.c_str());
      else std::fprintf(stderr, "%s%s%s\n", tty ? "\r" : "", s.c_str(), tty ? "\033[K" : "");
      if (!tty) std::fflush(stderr);
    }
    if (rc.checkpoint_interval > 0 && step % rc.checkpoint_interval == 0 && step != stop) checkpoint();
  }
  if (metrics) std::fclose(metrics);
  if (last_ckpt != step || find_checkpoint(rc.out).empty()) checkpoint();
  if (!quiet) {
    std::fprintf(stderr, "done: step %ld, %.1f s, checkpoint %s", long(step), clock.seconds(),
                 find_checkpoint(rc.out).c_str());
    if (ranks > 1)
      std::fprintf(stderr, "; communication %.2f s (%.1f%% of the run, %.1f ms per step)",
                   comm.comm_seconds() - comm0, 100.0 * (comm.comm_seconds() - comm0) / clock.seconds(),
                   1e3 * (comm.comm_seconds() - comm0) / double(std::max<int64_t>(step - first, 1)));
    std::fputc('\n', stderr);
  }
  return 0;
}

}  // namespace hyb
