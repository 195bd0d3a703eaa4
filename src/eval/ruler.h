// A small RULER (NVIDIA/RULER's synthetic tasks, rebuilt here): needle in a haystack (single, multi-key,
// multi-value, multi-query), variable tracking and common-word extraction, at any length in tokens, with real
// text as the haystack. Each item carries the RULER prompt (ending in its answer prefix), the strings an answer
// must contain (string_match_all), and a forced-choice form for base models that do not follow instructions: the
// first target as a continuation against decoys of the same kind (for multi-key NIAH and variable tracking, decoys
// that also appear in the text).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace hyb {

enum class RulerTask { NiahSingle, NiahMultiKey, NiahMultiValue, NiahMultiQuery, VariableTracking, CommonWords };
RulerTask parse_ruler_task(const std::string& s);  // niah_single | niah_multikey | ... | vt | cwe
const char* ruler_task_name(RulerTask t);
constexpr RulerTask kRulerTasks[] = {RulerTask::NiahSingle,     RulerTask::NiahMultiKey,     RulerTask::NiahMultiValue,
                                     RulerTask::NiahMultiQuery, RulerTask::VariableTracking, RulerTask::CommonWords};

struct RulerItem {
  std::string prompt;                  // ends with the answer prefix
  std::vector<std::string> targets;    // every one must appear in the answer
  std::vector<std::string> choices;    // forced choice: continuations (" 1234567"), choices[answer] is right
  int answer = 0;
  int64_t prompt_tokens = 0, max_new_tokens = 0;
};

// The haystack: sentences of real text ("." / "!" / "?" followed by space), each at least 3 words.
std::vector<std::string> split_sentences(const std::string& text);

// A haystack read once: its sentences and its distinct lower-case words of 4-10 letters in first-seen order (the
// keys and word lists are drawn from them), so generating many items does not rescan the text for each.
struct RulerHaystack {
  std::vector<std::string> sentences, words;
  explicit RulerHaystack(std::vector<std::string> sentences);
};

// The length cannot hold the task's fixed text (a property of the task and length, not bad input: callers that
// sweep lengths report the cell as skipped).
struct RulerTooShort : Error {
  using Error::Error;
};

// Item `index` of a task: deterministic in (task, length, seed, index). Its prompt plus max_new_tokens fits in
// `length` tokens and comes as close to it as whole haystack sentences (or list words) allow. fail()s when the
// haystack is too small or the length too short for the task's fixed parts.
RulerItem make_ruler_item(RulerTask task, int64_t length, const RulerHaystack& haystack, const Tokenizer& tok,
                          uint64_t seed, uint64_t index);
// The same for a one-off item (builds the haystack's word list first).
inline RulerItem make_ruler_item(RulerTask task, int64_t length, const std::vector<std::string>& sentences,
                                 const Tokenizer& tok, uint64_t seed, uint64_t index) {
  return make_ruler_item(task, length, RulerHaystack(sentences), tok, seed, index);
}

// The item as a training document: the prompt followed by its answer (" " + the targets joined by ", " + "."),
// blank lines folded into single newlines so that `hybrid prepare` (one document per paragraph) keeps it whole.
std::string ruler_training_text(const RulerItem& item);

// RULER's string_match_all: the fraction of targets found in the prediction, case-insensitively.
double string_match_all(const std::string& prediction, const std::vector<std::string>& targets);

}  // namespace hyb
