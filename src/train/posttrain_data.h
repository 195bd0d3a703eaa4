// Post-training datasets (JSONL), tokenized into scored sequences.
//   SFT rows:  {"messages": [{"role", "content"}, ...]}       every assistant turn's content + end token scored
//              {"input_ids": [...], "labels": [...]}          HF convention: label −100 = not scored
//   DPO rows:  {"chosen": [msgs], "rejected": [msgs]}          whole conversations; the last assistant turn scored
//              {"prompt": P, "chosen": C, "rejected": R}        strings (user turn / assistant turn) or message lists
//              {"prompt_ids": [...], "chosen_ids": [...], "rejected_ids": [...]}   completions after the prompt
// Chats are rendered with the chat template (tokenizer/chat_template.h: the default system turn when none is given)
// and encoded with added tokens matched, as HF's apply_chat_template + tokenizer do.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace hyb {

// ids, and per position the id it must predict (−1 = none): targets[t] = ids[t + 1] when token t + 1 is scored.
struct ScoredRow {
  std::vector<int32_t> ids, targets;
  int64_t scored() const;
};

struct PrefRow {
  ScoredRow chosen, rejected;
};

struct PostTrainDataOptions {
  int64_t max_len = 4096;   // tokens per sequence
  bool drop_long = false;   // drop rows longer than max_len (default: truncate to max_len)
  bool skip_bad = false;    // skip malformed rows (counted) instead of failing on the first
  int64_t vocab_size = 0;   // ids must be below this (0 = unchecked)
};

struct PostTrainDataStats {
  int64_t rows = 0, bad = 0, truncated = 0, dropped = 0;
  std::string summary() const;
};

// An SFT row from messages: every assistant message's span (render_chat) becomes scored tokens — a token is
// scored when its first byte lies in a span. last_only: only the last assistant message (DPO completions).
ScoredRow tokenize_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages, bool last_only);

// `tok` may be null when every row is pre-tokenized. fail()s with "FILE:LINE: ..." on a bad row unless skip_bad.
std::vector<ScoredRow> load_sft_jsonl(const std::string& path, const Tokenizer* tok, const PostTrainDataOptions& o,
                                      PostTrainDataStats* stats = nullptr);
std::vector<PrefRow> load_pref_jsonl(const std::string& path, const Tokenizer* tok, const PostTrainDataOptions& o,
                                     PostTrainDataStats* stats = nullptr);

}  // namespace hyb
