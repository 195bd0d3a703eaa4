// Flags shared by the commands that run the trainer loop (train, sft, dpo): the run config and what overrides it.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "core/threads.h"
#include "eval/in_loop_suite.h"
#include "train/run_config.h"
#include "train/trainer.h"

namespace hyb::cli {

struct TrainFlags {
  std::string config, out, data;
  int64_t steps = 0, until = 0;
  bool resume = false, quiet = false;
  int threads = -1;
  int64_t grad_accum = 1;
  std::string precision;

  void add(CLI::App& app, const std::string& config_help, const char* data_help) {
    app.add_option("-c,--config", config, config_help)->required();
    app.add_option("-o,--out", out, "Output directory (overrides \"out\")");
    app.add_option("--data", data, data_help);
    app.add_option("--steps", steps, "Planned steps; the LR schedule spans them (overrides \"steps\")")
        ->check(Positive);
    app.add_option("--until", until, "Stop (and checkpoint) after this step, keeping the schedule of --steps")
        ->check(Positive);
    app.add_flag("--resume", resume, "Continue from OUT/checkpoint (the run config must match it)");
    app.add_flag("-q,--quiet", quiet, "No progress output");
    app.add_option("-t,--threads", threads,
                   "Threads per process (0 = all cores, divided among the ranks on a host under mpirun; overrides "
                   "\"threads\")")
        ->check(NonNegative);
    app.add_option("--grad-accum", grad_accum,
                   "Micro-batches per rank and step: the batch is split into ranks x A equal micro-batches whose "
                   "gradients are summed (the same rows per step whatever the split; under mpirun -np N each rank "
                   "takes A of them)")
        ->check(Positive);
    app.add_option("--precision", precision,
                   "Products of the linear layers and the lm_head (overrides \"precision\"; default f32): f32, or "
                   "bf16 = mixed precision, operands rounded to bf16 with f32 accumulation (AVX512-BF16 where the "
                   "CPU has it, else f32); master weights, gradients, AdamW state and the loss stay f32. See README "
                   "'Precision'")
        ->check(CLI::IsMember({"f32", "bf16"}));
  }
  // The run config with the flags applied (threads set), and the loop options.
  RunConfig load() const {
    RunConfig rc = RunConfig::load(config);
    if (!out.empty()) rc.out = out;
    if (!data.empty()) rc.data = data;
    if (steps > 0) {
      rc.steps = steps;
      rc.steps_given = true;
    }
    if (threads >= 0) rc.threads = threads;
    if (!precision.empty()) rc.precision = parse_precision(precision, "--precision");
    set_threads(rc.threads);
    return rc;
  }
  // `rc` wires its in-loop suite ("eval_suite"), scored with the tokenizer of the data (pretraining) or of the
  // starting model (post-training).
  TrainOptions options(const RunConfig& rc) const {
    TrainOptions o;
    if (!rc.eval_suite.empty())
      o.in_loop_eval = make_in_loop_suite(rc.eval_suite, rc.eval_suite_items,
                                          !rc.init_from.empty() ? (rc.tokenizer.empty() ? rc.init_from : rc.tokenizer)
                                                                : rc.data);
    o.resume = resume;
    o.until = until;
    o.quiet = quiet;
    o.grad_accum = grad_accum;
    return o;
  }
};

}  // namespace hyb::cli
