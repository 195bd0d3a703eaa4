// HF tokenizer.json (+ tokenizer_config.json): model, merges, added tokens, pre-tokenizer regex, decoder.
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  // First byte: which file the rest is (tokenizer.json, or tokenizer_config.json beside a fixed tokenizer.json).
  if (size < 1) return 0;
  const auto& s = fuzz::Scratch::get();
  static const std::string fixed_json = [] {
    (void)fuzz::small_tokenizer();  // writes tokenizer/tokenizer.json
    return fuzz::Scratch::get().path("tokenizer/tokenizer.json");
  }();
  const bool config = data[0] & 1;
  const std::string json_path = config ? fixed_json : s.write("tokenizer.json", data + 1, size - 1);
  const std::string config_path = config ? s.write("tokenizer_config.json", data + 1, size - 1) : "";
  fuzz::expect_clean([&] {
    const Tokenizer t = Tokenizer::from_hf_json(json_path, config_path);
    const std::string text = "Hello, world! 123 caf\xc3\xa9 <|im_start|>user\n";
    const auto ids = t.encode(text);
    fuzz::check(t.decode(ids) == text, "tokenizer.json: decode(encode(x)) != x");
    const auto sids = t.encode_with_special(text);
    fuzz::check(t.decode(sids) == text, "tokenizer.json: decode(encode_with_special(x)) != x");
    (void)t.stop_ids(true);
  });
  return 0;
}
