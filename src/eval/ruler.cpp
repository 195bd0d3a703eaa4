#include "eval/ruler.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <set>

#include "core/error.h"

namespace hyb {

namespace {

struct TaskName {
  RulerTask t;
  const char* name;
};
constexpr TaskName kNames[] = {{RulerTask::NiahSingle, "niah_single"},       {RulerTask::NiahMultiKey, "niah_multikey"},
                               {RulerTask::NiahMultiValue, "niah_multivalue"}, {RulerTask::NiahMultiQuery, "niah_multiquery"},
                               {RulerTask::VariableTracking, "vt"},             {RulerTask::CommonWords, "cwe"}};

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Lower-case alphabetic words of 4-10 letters from the haystack, each once, in first-seen order.
std::vector<std::string> vocabulary(const std::vector<std::string>& sentences) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& s : sentences) {
    std::string w;
    for (size_t i = 0; i <= s.size(); ++i) {
      const unsigned char c = i < s.size() ? static_cast<unsigned char>(s[i]) : ' ';
      if (std::isalpha(c)) {
        w += char(std::tolower(c));
        continue;
      }
      if (w.size() >= 4 && w.size() <= 10 && seen.insert(w).second) out.push_back(w);
      w.clear();
    }
  }
  return out;
}

std::string number7(std::mt19937_64& rng) { return std::to_string(std::uniform_int_distribution<int>(1000000, 9999999)(rng)); }

std::string var_name(std::mt19937_64& rng) {
  std::string s(5, 'A');
  for (char& c : s) c = char('A' + std::uniform_int_distribution<int>(0, 25)(rng));
  return s;
}

// Largest n in [lo, hi] with fits(n), assuming fits is monotone decreasing and fits(lo).
template <class F>
int64_t largest_fitting(int64_t lo, int64_t hi, F fits) {
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// The haystack text of n sentences starting at `start` (wrapping), with `inserts` placed before the sentences at
// the given positions (position p = before sentence p of the n; positions may repeat, kept in order).
std::string haystack(const std::vector<std::string>& sentences, size_t start, int64_t n,
                     const std::vector<std::pair<int64_t, std::string>>& inserts) {
  std::string out;
  size_t k = 0;
  for (int64_t i = 0; i <= n; ++i) {
    while (k < inserts.size() && inserts[k].first <= i) {
      if (!out.empty()) out += ' ';
      out += inserts[k++].second;
    }
    if (i == n) break;
    if (!out.empty()) out += ' ';
    out += sentences[(start + size_t(i)) % sentences.size()];
  }
  return out;
}

// Sorted random positions in [0, n] for m inserts, from fractions drawn once (so they scale with n).
std::vector<int64_t> positions(const std::vector<double>& depth, int64_t n) {
  std::vector<int64_t> p;
  for (double d : depth) p.push_back(std::min<int64_t>(n, int64_t(d * double(n + 1))));
  std::sort(p.begin(), p.end());
  return p;
}

}  // namespace

RulerTask parse_ruler_task(const std::string& s) {
  for (const auto& n : kNames)
    if (s == n.name) return n.t;
  std::string all;
  for (const auto& n : kNames) all += std::string(all.empty() ? "" : ", ") + n.name;
  fail("unknown RULER task '", s, "' (", all, ")");
}

const char* ruler_task_name(RulerTask t) {
  for (const auto& n : kNames)
    if (n.t == t) return n.name;
  return "?";
}

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    size_t words = 0;
    bool in = false;
    for (char c : cur) {
      const bool sp = std::isspace(static_cast<unsigned char>(c));
      if (!sp && !in) ++words;
      in = !sp;
    }
    if (words >= 3) out.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (cur.empty() || cur.back() == ' ')) continue;
    cur += c;
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]))))
      flush();
  }
  return out;
}

double string_match_all(const std::string& prediction, const std::vector<std::string>& targets) {
  if (targets.empty()) return 0;
  const std::string p = lower(prediction);
  int found = 0;
  for (const auto& t : targets) found += p.find(lower(t)) != std::string::npos;
  return double(found) / double(targets.size());
}

RulerHaystack::RulerHaystack(std::vector<std::string> s) : sentences(std::move(s)), words(vocabulary(sentences)) {}

RulerItem make_ruler_item(RulerTask task, int64_t length, const RulerHaystack& hay, const Tokenizer& tok,
                          uint64_t seed, uint64_t index) {
  const std::vector<std::string>& sentences = hay.sentences;
  if (sentences.size() < 16) fail("RULER haystack: need at least 16 sentences of 3+ words, got ", sentences.size());
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + uint64_t(task) + 1);
  RulerItem it;
  const size_t start = std::uniform_int_distribution<size_t>(0, sentences.size() - 1)(rng);
  auto ntok = [&](const std::string& s) { return int64_t(tok.encode(s).size()); };
  auto words = [&]() -> const std::vector<std::string>& { return hay.words; };
  auto choose_words = [&](size_t k, const std::set<std::string>& avoid) {
    const std::vector<std::string>& vocab = words();
    if (vocab.size() < k + avoid.size() + 8) fail("RULER haystack: too few distinct words (", vocab.size(), ")");
    std::vector<std::string> out;
    std::set<std::string> used = avoid;
    while (out.size() < k) {
      const std::string& w = vocab[std::uniform_int_distribution<size_t>(0, vocab.size() - 1)(rng)];
      if (used.insert(w).second) out.push_back(w);
    }
    return out;
  };
  auto finish_choices = [&](const std::string& right, std::vector<std::string> decoys) {
    std::vector<std::string> c = {right};
    c.insert(c.end(), decoys.begin(), decoys.end());
    std::shuffle(c.begin(), c.end(), rng);
    it.choices = c;
    it.answer = int(std::find(c.begin(), c.end(), right) - c.begin());
  };

  if (task == RulerTask::CommonWords) {
    // A numbered list: 10 common words repeated (30× at 4k+ tokens, else 6×), the rest 3× (else 1×); as many
    // rare words as fit.
    const bool big = length >= 4096;
    const int common_rep = big ? 30 : 6, rare_rep = big ? 3 : 1;
    const auto common = choose_words(10, {});
    const std::set<std::string> avoid(common.begin(), common.end());
    const auto rare_pool = choose_words(std::min<size_t>(4000, words().size() / 2), avoid);
    const std::string head = "Below is a numbered list of words. In these words, some appear more often than others. "
                             "Memorize the ones that appear most often.\n";
    const std::string tail = "\nQuestion: What are the 10 most common words in the above list? Answer: The top 10 "
                             "words that appear most often in the list are:";
    it.max_new_tokens = 120;
    const uint64_t shuffle_seed = rng();
    auto build = [&](int64_t rare) {
      std::vector<std::string> words;
      for (const auto& w : common)
        for (int r = 0; r < common_rep; ++r) words.push_back(w);
      for (int64_t i = 0; i < rare; ++i)
        for (int r = 0; r < rare_rep; ++r) words.push_back(rare_pool[size_t(i)]);
      std::mt19937_64 sh(shuffle_seed);
      std::shuffle(words.begin(), words.end(), sh);
      std::string list;
      for (size_t i = 0; i < words.size(); ++i) list += std::to_string(i + 1) + ". " + words[i] + " ";
      return head + list + tail;
    };
    auto fits = [&](int64_t rare) { return ntok(build(rare)) + it.max_new_tokens <= length; };
    if (!fits(0)) throw RulerTooShort(str("RULER cwe: --length ", length, " is too short for 10 common words"));
    const int64_t rare = largest_fitting(0, std::min<int64_t>(length, int64_t(rare_pool.size())), fits);
    if (rare < 3)
      throw RulerTooShort(str("RULER cwe: --length ", length, " is too short: room for fewer than 3 rare words"));
    it.prompt = build(rare);
    it.targets = common;
    finish_choices(" " + common[0], {" " + rare_pool[0], " " + rare_pool[1], " " + rare_pool[2]});
    it.prompt_tokens = ntok(it.prompt);
    return it;
  }

  std::vector<std::string> inserts;  // in the order they go into the text
  std::string head, tail;
  std::vector<std::string> decoys;
  if (task == RulerTask::VariableTracking) {
    // Two chains of 4 hops (5 names each, one value each); the question asks for the first chain's names.
    std::set<std::string> names;
    auto fresh = [&] {
      std::string n;
      do n = var_name(rng);
      while (!names.insert(n).second);
      return n;
    };
    std::vector<std::vector<std::string>> chain(2);
    std::vector<std::string> value = {std::to_string(std::uniform_int_distribution<int>(10000, 99999)(rng)), ""};
    do value[1] = std::to_string(std::uniform_int_distribution<int>(10000, 99999)(rng));
    while (value[1] == value[0]);
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 5; ++k) chain[size_t(c)].push_back(fresh());
    // Interleave the two chains' statements, each chain in order.
    for (int k = 0; k < 5; ++k)
      for (int c = 0; c < 2; ++c)
        inserts.push_back(k == 0 ? "VAR " + chain[size_t(c)][0] + " = " + value[size_t(c)] + "."
                                 : "VAR " + chain[size_t(c)][size_t(k)] + " = VAR " + chain[size_t(c)][size_t(k - 1)] + ".");
    head = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n";
    tail = "\nQuestion: Find all variables that are assigned the value " + value[0] +
           " in the text above. Answer: According to the chain(s) of variable assignment in the text above, 5 "
           "variables are assigned the value " + value[0] + ", they are:";
    it.targets = chain[0];
    it.max_new_tokens = 30;
    for (int k = 0; k < 3; ++k) decoys.push_back(" " + chain[1][size_t(k)]);
    finish_choices(" " + chain[0][0], decoys);
  } else {
    const int nkeys = task == RulerTask::NiahMultiKey || task == RulerTask::NiahMultiQuery ? 4 : 1;
    const int nvalues = task == RulerTask::NiahMultiValue ? 4 : 1;
    std::vector<std::string> keys;
    const auto kw = choose_words(size_t(2 * nkeys), {});
    for (int k = 0; k < nkeys; ++k) keys.push_back(kw[size_t(2 * k)] + "-" + kw[size_t(2 * k + 1)]);
    std::set<std::string> used_values;
    std::map<std::string, std::vector<std::string>> values;
    for (const auto& k : keys)
      for (int v = 0; v < nvalues; ++v) {
        std::string x;
        do x = number7(rng);
        while (!used_values.insert(x).second);
        values[k].push_back(x);
        inserts.push_back("One of the special magic numbers for " + k + " is: " + x + ".");
      }
    std::shuffle(inserts.begin(), inserts.end(), rng);
    std::string query = keys[0];
    if (task == RulerTask::NiahMultiQuery) {
      query = keys[0] + ", " + keys[1] + ", " + keys[2] + " and " + keys[3];
      for (const auto& k : keys) it.targets.push_back(values[k][0]);
    } else {
      it.targets = values[keys[0]];
    }
    head = "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz "
           "you about the numbers afterwards.\n";
    tail = "\nWhat are all the special magic numbers for " + query + " mentioned in the provided text? The special "
           "magic numbers for " + query + " mentioned in the provided text are";
    it.max_new_tokens = 32 * int64_t(it.targets.size());
    if (task == RulerTask::NiahMultiKey) {
      for (int k = 1; k < 4; ++k) decoys.push_back(" " + values[keys[size_t(k)]][0]);  // also in the text
    } else {
      for (int k = 0; k < 3; ++k) {
        std::string x;
        do x = number7(rng);
        while (!used_values.insert(x).second);
        decoys.push_back(" " + x);
      }
    }
    finish_choices(" " + it.targets[0], decoys);
  }
  std::vector<double> depth;
  for (size_t i = 0; i < inserts.size(); ++i) depth.push_back(std::uniform_real_distribution<double>(0, 1)(rng));
  auto build = [&](int64_t n) {
    const auto pos = positions(depth, n);
    std::vector<std::pair<int64_t, std::string>> ins;
    for (size_t i = 0; i < inserts.size(); ++i) ins.push_back({pos[i], inserts[i]});
    return head + haystack(sentences, start, n, ins) + tail;
  };
  auto fits = [&](int64_t n) { return ntok(build(n)) + it.max_new_tokens <= length; };
  if (!fits(0))
    throw RulerTooShort(str("RULER ", ruler_task_name(task), ": --length ", length, " is too short for the task's own text"));
  const int64_t n = largest_fitting(0, length, fits);  // every sentence is at least one token
  it.prompt = build(n);
  it.prompt_tokens = ntok(it.prompt);
  return it;
}

std::string ruler_training_text(const RulerItem& item) {
  std::string t = item.prompt + " ";
  for (size_t i = 0; i < item.targets.size(); ++i) t += (i ? ", " : "") + item.targets[i];
  t += ".";
  std::string out;
  for (char c : t)
    if (!(c == '\n' && !out.empty() && out.back() == '\n')) out += c;
  return out;
}

}  // namespace hyb
