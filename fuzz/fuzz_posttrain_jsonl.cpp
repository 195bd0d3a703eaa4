// SFT and DPO datasets (JSONL): message lists, prompt/chosen/rejected, pre-tokenized ids and labels, truncation.
// The first byte picks the loader and its options; the rest is the file.
#include "fuzz_util.h"
#include "train/posttrain_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  if (size < 1) return 0;
  const std::string path = fuzz::Scratch::get().write("data.jsonl", data + 1, size - 1);
  PostTrainDataOptions o;
  o.max_len = (data[0] & 8) ? 16 : 4096;
  o.drop_long = data[0] & 2;
  o.skip_bad = data[0] & 4;
  o.vocab_size = fuzz::small_tokenizer().vocab_size();
  const Tokenizer* tok = (data[0] & 16) ? nullptr : &fuzz::small_tokenizer();
  auto check_row = [&](const ScoredRow& r) {
    fuzz::check(r.ids.size() == r.targets.size(), "ids and targets differ in length");
    fuzz::check(int64_t(r.ids.size()) <= o.max_len, "a row is longer than max_len");
    fuzz::check(r.scored() > 0, "a row with nothing scored was kept");
    for (size_t i = 0; i < r.ids.size(); ++i) {
      fuzz::check(r.ids[i] >= 0 && r.ids[i] < o.vocab_size, "an id outside the vocabulary");
      fuzz::check(r.targets[i] == -1 || (i + 1 < r.ids.size() && r.targets[i] == r.ids[i + 1]),
                  "a target that is not the next token");
    }
  };
  fuzz::expect_clean([&] {
    if (data[0] & 1) {
      for (const auto& p : load_pref_jsonl(path, tok, o)) {
        check_row(p.chosen);
        check_row(p.rejected);
      }
    } else {
      for (const auto& r : load_sft_jsonl(path, tok, o)) check_row(r);
    }
  });
  return 0;
}
