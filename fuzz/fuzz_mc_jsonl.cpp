// Multiple-choice items (JSONL, eval/mc_items.h): text and pre-tokenized rows, both formats, shots, truncation.
// The first byte picks the options; the rest is the file. Invariants of every prompt built: the continuation is
// non-empty, context + continuation fit max_len, ids lie in the vocabulary, text sizes match the continuation.
#include "eval/mc_items.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  if (size < 1) return 0;
  const std::string path = fuzz::Scratch::get().write("items.jsonl", data + 1, size - 1);
  const Tokenizer& tok = fuzz::small_tokenizer();
  const int64_t V = tok.vocab_size();
  McPromptOptions o;
  o.format = (data[0] & 1) ? McFormat::MC : McFormat::RC;
  o.max_len = (data[0] & 2) ? 12 : 4096;
  const bool with_tok = !(data[0] & 4), shots = data[0] & 8;
  fuzz::expect_clean([&] {
    const std::vector<McItem> items = load_mc_jsonl(path, V);
    std::vector<const McItem*> shot;
    if (shots && !items.front().tokenized()) shot.push_back(&items.front());
    for (const McItem& it : items) {
      fuzz::check(it.answer >= 0 && size_t(it.answer) < it.num_choices(), "answer out of range was accepted");
      const auto reqs = mc_requests(it, shot, with_tok ? &tok : nullptr, o);
      fuzz::check(reqs.size() == it.num_choices(), "one request per choice");
      for (const McRequest& r : reqs) {
        fuzz::check(!r.continuation.empty() && !r.context.empty(), "an empty context or continuation");
        fuzz::check(int64_t(r.context.size() + r.continuation.size()) <= o.max_len, "a prompt longer than max_len");
        for (const auto* v : {&r.context, &r.continuation})
          for (int32_t id : *v) fuzz::check(id >= 0 && id < V, "an id outside the vocabulary");
      }
      if (with_tok && !it.tokenized())
        for (size_t c = 0; c < reqs.size(); ++c)
          fuzz::check(reqs[c].bytes == int64_t(mc_continuation_text(it, o.format, c).size()), "byte count");
      if (with_tok) (void)mc_unconditional(it, tok, o);
    }
  });
  return 0;
}
