// Helpers shared by the subcommands: CLI11 parsing with one-line errors, thread flag.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "bench/memory_info.h"
#include "core/threads.h"
#include "kernels/gdn.h"
#include "kernels/gemm.h"

namespace hyb::cli {

// Lower bounds for numeric flags. CLI11's own NonNegativeNumber and PositiveNumber are ranges up to DBL_MAX and
// print all 309 digits of it when they refuse a value.
inline CLI::Validator at_least(double lo, bool strict, const char* name) {
  return CLI::Validator(
      [=](std::string& in) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(in, v) || v != v) return "Value " + in + " is not a number";
        if (strict ? v > lo : v >= lo) return {};
        return "Value " + in + (strict ? " must be > " : " must be >= ") + CLI::detail::to_string(lo);
      },
      name);
}
inline const CLI::Validator NonNegative = at_least(0, false, "NONNEGATIVE");
inline const CLI::Validator Positive = at_least(0, true, "POSITIVE");

// Parses; returns -1 to continue, else the exit code (0 after --help, 2 after a bad flag).
inline int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

// --dtype for commands that load a checkpoint: how its weight matrices live in memory (see parse_weight_dtype).
inline void add_weight_dtype(CLI::App& app, std::string& dtype, const char* default_value) {
  app.add_option("--dtype", dtype,
                 "Weight dtype in memory: auto (as stored; a `hybrid quantize` checkpoint keeps its int8/q4), f32, bf16")
      ->default_val(default_value);
}

// --compute and --gdn-products: the precision contract (kernels/gemm.h, kernels/gdn.h), on every command that runs
// the model. --compute only changes products with BF16 weights and prompt-sized products with quantized weights
// (F32 weights are always exact); --gdn-products the GDN layers' chunked products on prompt rows.
struct ComputeFlags {
  std::string mode, gdn = "f32";
  // with_gdn false: a command whose forward keeps activations for a backward (grads), which always runs the f32
  // chunk, so the option is not offered there.
  void add(CLI::App& app, const char* default_value, bool with_gdn = true) {
    app.add_option("--compute", mode,
                   "Math for BF16 and quantized weights: exact = f32 products, equal to F32 compute on the same "
                   "(dequantized) weights; fast = BF16: activations rounded to bf16 too, AVX512-BF16 dot products "
                   "with f32 accumulation where the CPU has them (max logit change vs exact 0.04-0.1 on BF16 "
                   "checkpoints); int8/q4: prompt rows too get int8 activations per 32-block and VNNI dot products, as "
                   "decode rows always do (max logit change vs exact 0.07-0.08 on the demo model). See README "
                   "'Precision'. F32 weights are unaffected")
        ->default_val(default_value)
        ->check(CLI::IsMember({"exact", "fast"}));
    if (!with_gdn) return;
    app.add_option("--gdn-products", gdn,
                   "Operands of the GDN layers' chunked products on prompt rows (any weight dtype): f32 (exact), or "
                   "bf16 = rounded to bf16, AVX512-BF16 dot products with f32 accumulation; gates, decay, (I+A)^-1 "
                   "and the recurrent state stay f32 (kernel 1.5-1.7x faster, its output within ~5e-3 of f32 "
                   "relative to its scale: `hybrid bench gdn`; logit change in README 'Precision'). Falls back to "
                   "f32 without AVX512-BF16; decode rows and training always use f32")
        ->default_val("f32")
        ->check(CLI::IsMember({"f32", "bf16"}));
  }
  void apply() const {
    set_compute(mode == "fast" ? Compute::Fast : Compute::Exact);
    set_gdn_bf16(gdn == "bf16");
  }
};

// --kv-cache-dtype: how the attention layers' K/V are stored (model/cache.h). GDN state is always f32.
inline void add_kv_dtype(CLI::App& app, std::string& kv) {
  app.add_option("--kv-cache-dtype", kv,
                 "Attention K/V cache storage: f32 (exact), or bf16 = each key and value rounded to bf16 as it is "
                 "stored, half the cache bytes; math stays f32 (max logit change vs f32 measured: 0.006 on the golden "
                 "model, 0.013 on the 0.4B over 1,024 tokens; README 'Precision'). GDN state is always f32")
      ->default_val("f32")
      ->check(CLI::IsMember({"f32", "bf16"}));
}

inline void add_threads(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "Threads (0 = all cores)")->default_val(0)->check(NonNegative);
}

// How a checkpoint's weights get into memory: mapped from the files, or copied into anonymous memory (huge pages,
// never reclaimed behind our back: with the files mapped, a 7B model on a 24 GB machine re-read pages from disk every
// token). Neither flag = auto: copy when the weight files take at most half the available RAM, else map.
struct LoadFlags {
  bool mmap = false, no_mmap = false;
  void add(CLI::App& app) {
    auto* m = app.add_flag("--mmap", mmap, "Map the weight files (fastest start; pages may be reclaimed and re-read)");
    auto* c = app.add_flag("--no-mmap", no_mmap, "Copy the weights into RAM (steady decode). Default: copy when the "
                           "weight files take at most half the available RAM, else map");
    m->excludes(c);
  }
  bool use_mmap(const std::string& dir) const {
    if (mmap || no_mmap) return mmap;
    return weight_file_bytes(dir) > 0.5 * available_ram_bytes();
  }
};

// --threads, --compute and --gdn-products together, applied after parsing.
struct RunFlags {
  int threads = 0;
  ComputeFlags compute;
  void add(CLI::App& app, const char* compute_default, bool with_gdn = true) {
    add_threads(app, threads);
    compute.add(app, compute_default, with_gdn);
  }
  void apply() const {
    set_threads(threads);
    compute.apply();
  }
};

}  // namespace hyb::cli
