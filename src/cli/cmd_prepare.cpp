// hybrid prepare: text files -> token shards + manifest (train/val split) for `hybrid train`.
#include <cstdio>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "train/token_shards.h"

namespace hyb::cli {

int run_prepare(int argc, char** argv) {
  CLI::App app{"Tokenize UTF-8 text into token shards (uint16 if the vocabulary fits, else uint32) with EOS after "
               "every document, and hold out a seeded share of documents for validation. Writes manifest.json "
               "(written last) and a copy of the tokenizer into the output directory.",
               argv[0]};
  PrepareOptions o;
  std::string docs = "paragraphs";
  int threads = 0;
  app.add_option("--tokenizer", o.tokenizer, "tokenizer.json or a directory holding it")->required();
  app.add_option("--input", o.inputs, "Text files")->required()->expected(1, -1);
  app.add_option("--out", o.out, "Output data directory")->required();
  app.add_option("--val-fraction", o.val_fraction, "Share of documents held out for validation")->default_val(0.01);
  app.add_option("--val-files", o.val_files,
                 "Input files held out whole for validation (comma-separated, each also given to --input): "
                 "whole works the model never trains on; --val-fraction still applies to the other files")
      ->delimiter(',');
  app.add_option("--seed", o.seed, "Seed of the validation split")->default_val(0);
  app.add_option("--documents", docs, "What a document is: paragraphs (blank-line separated) or files")
      ->default_val("paragraphs")->check(CLI::IsMember({"paragraphs", "files"}));
  app.add_option("--shard-tokens", o.shard_tokens, "Tokens per shard file")->default_val(int64_t(1) << 26)
      ->check(Positive);
  add_threads(app, threads);
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  set_threads(threads);
  o.documents_are_files = docs == "files";
  Timer t;
  const PrepareStats s = prepare_tokens(o);
  std::printf("wrote %s: %s tokens (vocab %d); train %ld tokens / %ld documents, val %ld tokens / %ld documents; "
              "%.1f MB of text in %.1f s; val unigram entropy %.4f nats/token\n",
              o.out.c_str(), s.dtype.c_str(), s.vocab_size, long(s.train_tokens), long(s.train_docs),
              long(s.val_tokens), long(s.val_docs), double(s.bytes) / 1e6, t.seconds(), s.val_unigram_entropy);
  return 0;
}

}  // namespace hyb::cli
