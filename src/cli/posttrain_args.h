// Options shared by the commands that read post-training data (grads --sft/--dpo, logps): tokenizer, length limit.
#pragma once
#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"
#include "train/posttrain_data.h"

namespace hyb::cli {

struct PostTrainArgs {
  std::string tokenizer;
  int64_t max_len = 4096;
  bool drop_long = false, skip_bad = false;

  void add(CLI::App& app) {
    app.add_option("--tokenizer", tokenizer, "tokenizer.json, its directory or a .tiktoken file, for text rows "
                   "(default: the model directory when it has tokenizer.json)");
    app.add_option("--max-len", max_len, "Tokens per sequence; longer rows are truncated (or dropped with "
                   "--drop-long) and counted")->default_val(max_len)->check(CLI::Range(int64_t(2), int64_t(1) << 24));
    app.add_flag("--drop-long", drop_long, "Drop rows longer than --max-len instead of truncating them");
    app.add_flag("--skip-bad", skip_bad, "Skip (and count) malformed rows instead of stopping at the first");
  }
  std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) const {
    const std::string path = Tokenizer::default_path(tokenizer, model_dir);
    return path.empty() ? nullptr : std::make_unique<Tokenizer>(Tokenizer::load(path));
  }
  PostTrainDataOptions options(int64_t vocab) const {
    PostTrainDataOptions o;
    o.max_len = max_len;
    o.drop_long = drop_long;
    o.skip_bad = skip_bad;
    o.vocab_size = vocab;
    return o;
  }
};

}  // namespace hyb::cli
