#include "fuzz_util.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <unistd.h>

#include "io/model_config.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/trainer.h"

namespace hyb::fuzz {

namespace fs = std::filesystem;

Scratch& Scratch::get() {
  static Scratch s;
  return s;
}

Scratch::Scratch() {
  std::string tmpl = (fs::temp_directory_path() / "hybrid-fuzz-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) violated("cannot create a scratch directory");
  dir_ = tmpl;
  // Forked fuzzing jobs and libFuzzer's exit paths all run atexit handlers; a crash leaves the folder for
  // inspection, which is what one wants then.
  static std::string to_remove = dir_;
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(to_remove, ec);
  });
}

std::string Scratch::write(const std::string& name, const uint8_t* data, size_t size) const {
  const std::string p = path(name);
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) violated("cannot write " + p);
  if (size && std::fwrite(data, 1, size, f) != size) violated("short write to " + p);
  std::fclose(f);
  return p;
}

void Scratch::remove(const std::string& name) const {
  std::error_code ec;
  fs::remove(path(name), ec);
}

void violated(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

namespace {

// Public-domain English (the opening of the US Declaration of Independence) plus digits, punctuation and a few
// non-ASCII words, so the merges cover letters, numbers and multi-byte characters.
const char* const kTrainText =
    "When in the Course of human events, it becomes necessary for one people to dissolve the political bands which "
    "have connected them with another, and to assume among the powers of the earth, the separate and equal station "
    "to which the Laws of Nature and of Nature's God entitle them, a decent respect to the opinions of mankind "
    "requires that they should declare the causes which impel them to the separation.\n\n"
    "We hold these truths to be self-evident, that all men are created equal, that they are endowed by their "
    "Creator with certain unalienable Rights, that among these are Life, Liberty and the pursuit of Happiness.\n\n"
    "In 1776, 56 delegates signed it; 13 colonies. Prices: $3.50, 12%, 2+2=4. café naïve Köln 東京 😀 — “quotes”.\n";

}  // namespace

const Tokenizer& small_tokenizer() {
  static const std::unique_ptr<Tokenizer> tok = [] {
    const Scratch& s = Scratch::get();
    std::string text;
    for (int i = 0; i < 8; ++i) text += kTrainText;
    const std::string corpus = s.write("tokenizer-corpus.txt", text);
    BpeTrainOptions o;
    o.vocab_size = 400;
    o.added = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"};
    const HfBpeTokenizer t = train_bpe({corpus}, o, nullptr);
    const std::string dir = s.path("tokenizer");
    fs::create_directories(dir);
    TokenizerConfig cfg;
    cfg.eos_token = "<|endoftext|>";
    cfg.pad_token = "<|pad|>";
    write_hf_tokenizer(dir, t, cfg, 4096);
    return std::make_unique<Tokenizer>(Tokenizer::load(dir));
  }();
  return *tok;
}

std::string tiny_config_json(bool quantized) {
  std::string j = R"({"architectures": ["OlmoHybridForCausalLM"], "model_type": "olmo_hybrid",
    "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 2,
    "linear_key_head_dim": 8, "linear_value_head_dim": 16, "linear_conv_kernel_dim": 4,
    "layer_types": ["linear_attention", "full_attention"], "rope_theta": 10000.0, "eos_token_id": 0,
    "pad_token_id": 1, "tie_word_embeddings": false)";
  if (quantized) j += R"(, "quantization_config": {"format": "q8_0", "block_size": 32, "embedding": "q8_0", "quant_method": "hybrid"})";
  return j + "}";
}

}  // namespace hyb::fuzz
