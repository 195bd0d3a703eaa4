// hybrid tokenizer dolma2 | train: build tokenizer.json files.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/tiktoken_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"

namespace hyb::cli {

namespace {

constexpr int64_t kModelMaxLength = 65536;

TokenizerConfig chat_config() {
  TokenizerConfig c;
  c.eos_token = kEndOfText;
  c.bos_token = kEndOfText;
  c.pad_token = kPad;
  c.chat_template = kChatTemplateJinja;
  return c;
}

int run_dolma2(int argc, char** argv) {
  CLI::App app{"Write a dolma2 tokenizer.json + tokenizer_config.json (cl100k_base ranks plus dolma2's 22 added "
               "tokens at 100256-100277, EOS <|endoftext|> 100257, PAD <|pad|> 100277, Instruct chat template) so a "
               "checkpoint directory can be completed offline.",
               argv[0]};
  std::string ranks, out;
  app.add_option("--ranks", ranks, "cl100k_base.tiktoken rank file")->required();
  app.add_option("--out", out, "Output directory")->required();
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  Timer t;
  std::vector<std::string> tokens = read_tiktoken_ranks(ranks);
  if (tokens.size() != 100256)
    fail(ranks, ": has ", tokens.size(), " ranks; dolma2 is built on cl100k_base, which has 100256");
  BpeModel model = BpeModel::from_ranks(tokens);
  HfBpeTokenizer h;
  try {
    h.merges = model.derive_merges();
  } catch (const Error& e) {
    fail(ranks, ": ", e.what());
  }
  h.tokens = std::move(tokens);
  h.pattern = kCl100kPattern;
  h.added = dolma2_added_tokens();
  write_hf_tokenizer(out, h, chat_config(), kModelMaxLength);
  // Read the files back: a file we cannot load ourselves must not be left looking finished.
  const Tokenizer check = Tokenizer::load(out);
  if (check.vocab_size() != kDolma2VocabSize || check.eos_id() != 100257 || check.token_id(kPad) != 100277)
    fail(out, ": written tokenizer does not read back as dolma2");
  std::printf("wrote %s/tokenizer.json and tokenizer_config.json: %d tokens (%zu merges + %zu added), eos %d, pad %d "
              "(%.1f s)\n",
              out.c_str(), check.vocab_size(), h.merges.size(), h.added.size(), *check.eos_id(),
              check.token_id(kPad), t.seconds());
  return 0;
}

int run_train(int argc, char** argv) {
  CLI::App app{"Train a byte-level BPE tokenizer (cl100k split regex, 256 byte tokens, merges, then the added tokens "
               "<|endoftext|> <|im_start|> <|im_end|> <|pad|>) and write an HF tokenizer.json + tokenizer_config.json.",
               argv[0]};
  BpeTrainOptions opt;
  std::vector<std::string> inputs;
  std::string out;
  int threads = 0;
  app.add_option("--vocab-size", opt.vocab_size, "Total vocabulary size, added tokens included")->required()
      ->check(CLI::Range(261, 1 << 24));
  app.add_option("--input", inputs, "Training text files (UTF-8)")->required()->expected(1, -1);
  app.add_option("--out", out, "Output directory")->required();
  app.add_option("--min-frequency", opt.min_frequency, "Never merge pairs seen fewer times")->default_val(2)
      ->check(Positive);
  add_threads(app, threads);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  Timer t;
  BpeTrainStats st;
  HfBpeTokenizer h = train_bpe(inputs, opt, &st, [](const std::string& m) { std::fprintf(stderr, "train: %s\n", m.c_str()); });
  write_hf_tokenizer(out, h, chat_config(), kModelMaxLength);
  const Tokenizer check = Tokenizer::load(out);
  std::printf("wrote %s/tokenizer.json: %d tokens (%zu merges), %.1f MB of text, %ld distinct pieces; counting %.1f s, "
              "merging %.1f s, total %.1f s\n",
              out.c_str(), check.vocab_size(), h.merges.size(), double(st.bytes) / 1e6, long(st.distinct_pieces),
              st.count_seconds, st.merge_seconds, t.seconds());
  return 0;
}

void usage(FILE* f) {
  std::fprintf(f,
               "usage: hybrid tokenizer <dolma2|train> [options]   (--help on each for details)\n\n"
               "  dolma2   Write dolma2's tokenizer.json + tokenizer_config.json from cl100k_base.tiktoken\n"
               "  train    Train a byte-level BPE tokenizer on text files\n");
}

}  // namespace

int run_tokenizer(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string name = std::string(argv[0]) + " " + argv[1];
  argv[1] = name.data();
  if (name.ends_with(" dolma2")) return run_dolma2(argc - 1, argv + 1);
  if (name.ends_with(" train")) return run_train(argc - 1, argv + 1);
  std::fprintf(stderr, "error: %s: unknown subcommand\n\n", name.c_str());
  usage(stderr);
  return 2;
}

}  // namespace hyb::cli
