// Multiple-choice scoring (OLMES): the log-likelihood of every choice's continuation, the four RC normalisations
// and the bits per byte of the correct answer. Every (item, choice) pair is one sequence of a packed forward of
// the model core (train/grad_model.h), so the numbers equal those of scoring each pair alone.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/mc_items.h"
#include "train/grad_model.h"

namespace hyb {

enum class McNorm { None, Token, Char, Pmi };
constexpr McNorm kMcNorms[] = {McNorm::None, McNorm::Token, McNorm::Char, McNorm::Pmi};
const char* mc_norm_name(McNorm n);  // "none" | "token" | "char" | "pmi"

struct McChoiceScore {
  double logp = 0;          // Σ ln p(continuation | context)
  double uncond_logp = 0;   // Σ ln p(continuation | "Answer:") (pmi only)
  int64_t tokens = 0, bytes = 0, chars = 0;
};

struct McItemScore {
  std::vector<McChoiceScore> choices;
  int answer = 0;
  // The normalised score of a choice; NaN when the normalisation has no data (char without text, pmi off).
  double score(size_t c, McNorm n) const;
  // argmax over choices (the first on ties); −1 when the normalisation is unavailable.
  int predict(McNorm n) const;
  // −ln p(correct) / (ln 2 · its bytes); NaN without bytes.
  double answer_bpb() const;
};

struct McSummary {
  int64_t items = 0;
  double accuracy[4] = {0, 0, 0, 0};  // per McNorm; NaN when unavailable
  double bpb = 0;                     // mean over items of the correct answer's bits per byte (NaN without bytes)
  double answer_logp = 0;             // mean ln p of the correct continuation
  double chance = 0;                  // mean of 1 / choices
};
McSummary summarize(const std::vector<McItemScore>& s);

struct McEvalOptions {
  McPromptOptions prompt;
  int64_t shots = 0;
  uint64_t seed = 1234;     // which dev items become shots
  bool pmi = true;          // also score the unconditional continuations (RC only)
  int64_t pack = 8192;      // tokens per forward pass
};

// Scores `items`; shots come from `dev` (K drawn with the seed, the same for every item). `progress` (optional) is
// called after each forward pass with (items done, items). `tok` may be null for pre-tokenized items (then the
// char normalisation, bits per byte and pmi are unavailable).
std::vector<McItemScore> score_mc(GradModel& gm, const std::vector<McItem>& items, const std::vector<McItem>& dev,
                                  const Tokenizer* tok, const McEvalOptions& o,
                                  const std::function<void(size_t, size_t)>& progress = {});

// K distinct items of `pool` drawn with `seed` (fail()s when the pool has fewer than K).
std::vector<size_t> draw_shots(size_t pool, int64_t k, uint64_t seed);

}  // namespace hyb
