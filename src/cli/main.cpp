// hybrid: one binary, one subcommand per user task (llama.cpp style).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "dist/communicator.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

const Command kCommands[] = {
    {"info", hyb::cli::run_info, "Show a checkpoint's config, layer pattern, parameter and cache sizes"},
    {"logits", hyb::cli::run_logits, "Write float32 logits of a prefill (or of decode steps) to .npy"},
    {"init", hyb::cli::run_init, "Create a randomly initialised checkpoint from a config.json"},
    {"quantize", hyb::cli::run_quantize, "Quantize a checkpoint's linear weights to int8 or 4-bit blocks"},
    {"serve", hyb::cli::run_serve, "OpenAI-compatible HTTP server: continuous batching, prefix cache for hybrid models"},
    {"generate", hyb::cli::run_generate, "Generate tokens from a prompt with the KV/recurrent cache"},
    {"grads", hyb::cli::run_grads, "Loss of a batch (next-token, SFT or DPO) and its gradient for every parameter"},
    {"logps", hyb::cli::run_logps, "Summed log-probs of the scored tokens of SFT or preference rows (JSONL)"},
    {"prepare", hyb::cli::run_prepare, "Tokenize text files into token shards with a held-out validation split"},
    {"train", hyb::cli::run_train, "Train a model from scratch (or resume) from a run config"},
    {"sft", hyb::cli::run_sft, "Supervised fine-tuning of a checkpoint on chat / pre-tokenized JSONL"},
    {"dpo", hyb::cli::run_dpo, "Preference tuning (dpo, dpo_norm, simpo) of a checkpoint on JSONL pairs"},
    {"eval", hyb::cli::run_eval, "Perplexity on text or shards; accuracy on synthetic tasks (answers only)"},
    {"synth", hyb::cli::run_synth, "Write synthetic recall / state-tracking tasks as labelled token shards"},
    {"tokenize", hyb::cli::run_tokenize, "Encode text to token ids (printed or .npy)"},
    {"detokenize", hyb::cli::run_detokenize, "Decode token ids to the exact bytes"},
    {"tokenizer", hyb::cli::run_tokenizer, "Build tokenizers: dolma2 from cl100k ranks, or train a BPE"},
    {"bench", hyb::cli::run_bench, "Throughput benchmarks: train, prefill, decode, gdn, tokenize"},
};

void usage(FILE* out) {
  std::fprintf(out,
               "hybrid - train, evaluate and run OLMo-Hybrid-style language models\n\n"
               "usage: hybrid <command> [options]   (hybrid <command> --help for details)\n\ncommands:\n");
  for (auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.help);
}

// One line on stderr; in a data-parallel run it names the rank and ends the whole job (MPI_Abort), so that no
// other rank waits forever in a collective.
int report_error(const char* what) {
  const hyb::Communicator* w = hyb::world_if_started();
  if (w && w->size() > 1) {
    std::fprintf(stderr, "error (rank %d of %d): %s\n", w->rank(), w->size(), what);
    std::fflush(stderr);
    hyb::abort_world_if_parallel(1);
  }
  std::fprintf(stderr, "error: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    std::string name = std::string("hybrid ") + c.name;
    argv[1] = name.data();
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const hyb::Error& e) {
      return report_error(e.what());
    } catch (const std::bad_alloc&) {
      return report_error("out of memory");
    } catch (const std::exception& e) {
      return report_error(e.what());
    }
  }
  std::fprintf(stderr, "error: unknown command '%s' (see hybrid --help)\n", argv[1]);
  return 2;
}
