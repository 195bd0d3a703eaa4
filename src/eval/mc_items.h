// Multiple-choice items (JSONL) and their prompts in OLMES' two formulations.
//   text rows:          {"question" | "context": str, "choices": [str, ...], "answer": i}   (optional "id")
//   pre-tokenized rows: {"context_ids": [...], "choice_ids": [[...], ...], "answer": i}
// RC (cloze) scores each choice as a continuation of the context: "Question: Q\nAnswer:" + " choice" for a
// question, the context itself + " choice" for a cloze context. MC lists the choices under the question with
// letters (" A. ...") and scores the letters " A", " B", ... after "Answer:". k-shot prompts put K solved items
// (same format, their correct continuation, a blank line after each) before the item.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace hyb {

struct McItem {
  std::string id;                        // "id" of the row, or FILE:LINE
  std::string question, context;         // text rows: exactly one is set
  std::vector<std::string> choices;      // text rows
  std::vector<int32_t> context_ids;      // pre-tokenized rows
  std::vector<std::vector<int32_t>> choice_ids;
  int answer = 0;
  bool tokenized() const { return choices.empty(); }
  size_t num_choices() const { return tokenized() ? choice_ids.size() : choices.size(); }
};

// fail()s with "FILE:LINE: ..." on a malformed row (answer out of range, fewer than 2 choices, an empty choice,
// ids outside [0, vocab), more than 26 choices). vocab 0 = ids unchecked.
std::vector<McItem> load_mc_jsonl(const std::string& path, int64_t vocab = 0);

enum class McFormat { RC, MC };
McFormat parse_mc_format(const std::string& s);  // "rc" | "mc"

// One choice of one item, ready to score: the prompt's ids, the continuation's ids (the scored tokens), and the
// continuation's text size (bytes and code points) when known — 0 for pre-tokenized items without a tokenizer.
struct McRequest {
  std::vector<int32_t> context, continuation;
  int64_t bytes = 0, chars = 0;
};

struct McPromptOptions {
  McFormat format = McFormat::RC;
  int64_t max_len = 4096;  // context + continuation; longer contexts lose their oldest tokens (shots first)
};

// The prompts of every choice of `item` after the solved `shots` (text items only when shots are given).
// `tok` may be null only for pre-tokenized items.
std::vector<McRequest> mc_requests(const McItem& item, const std::vector<const McItem*>& shots, const Tokenizer* tok,
                                   const McPromptOptions& o);

// The same continuations after the neutral context "Answer:" (the pmi normalisation's unconditional term).
std::vector<McRequest> mc_unconditional(const McItem& item, const Tokenizer& tok, const McPromptOptions& o);

// Prompt and continuation texts of a text item (exposed for tests and --per-item).
std::string mc_prompt_text(const McItem& item, McFormat f);
std::string mc_continuation_text(const McItem& item, McFormat f, size_t choice);

}  // namespace hyb
