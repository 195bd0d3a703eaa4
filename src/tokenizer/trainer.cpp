#include "tokenizer/trainer.h"

#include <omp.h>

#include <algorithm>
#include <fstream>
#include <queue>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "core/read_file.h"
#include "core/timer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"

namespace hyb {

namespace {

// Cuts text into ~1 MB chunks at line starts that begin with a non-space byte: the split regex never joins
// pieces across such a point except through the whitespace run before it, which ends at the newline either way.
std::vector<std::string_view> chunks_of(std::string_view text) {
  std::vector<std::string_view> out;
  const size_t target = 1 << 20;
  size_t start = 0;
  while (start < text.size()) {
    size_t cut = start + target;
    while (cut < text.size() && !(text[cut - 1] == '\n' && !std::isspace(static_cast<unsigned char>(text[cut])))) ++cut;
    cut = std::min(cut, text.size());
    out.push_back(text.substr(start, cut - start));
    start = cut;
  }
  return out;
}

using PieceCounts = std::unordered_map<std::string, int64_t>;

uint64_t pkey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

struct Word {
  std::vector<int32_t> sym;
  int64_t count;
};

}  // namespace

HfBpeTokenizer train_bpe(const std::vector<std::string>& files, const BpeTrainOptions& opt, BpeTrainStats* stats,
                         const std::function<void(const std::string&)>& log) {
  const int32_t n_added = int32_t(opt.added.size());
  const int32_t n_merges = opt.vocab_size - 256 - n_added;
  if (n_merges < 0) fail("--vocab-size ", opt.vocab_size, " is smaller than 256 bytes + ", n_added, " added tokens");
  if (files.empty()) fail("no training files given");
  BpeTrainStats st;
  const PreTokenizer pre(opt.pattern.empty() ? kCl100kPattern : opt.pattern);

  // 1. Count distinct pieces, file by file, chunks in parallel with one map per thread.
  Timer t;
  const int nt = std::max(1, omp_get_max_threads());
  std::vector<PieceCounts> local(static_cast<size_t>(nt));
  std::vector<int64_t> local_pieces(size_t(nt), 0);
  for (const auto& f : files) {
    std::string text = read_file(f, "training file");
    st.bytes += int64_t(text.size());
    if (utf8_find_invalid(text) != std::string::npos) {
      const size_t before = text.size();
      text = utf8_lossy(text);
      st.invalid_utf8_bytes += 1;
      if (log) log(f + ": invalid UTF-8 replaced by U+FFFD (" + std::to_string(before) + " bytes)");
    }
    const auto chunks = chunks_of(text);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < chunks.size(); ++c) {
      const int tid = omp_get_thread_num();
      PieceCounts& m = local[size_t(tid)];
      int64_t n = 0;
      pre.split(chunks[c], [&](std::string_view piece) {
        ++m[std::string(piece)];
        ++n;
      });
      local_pieces[size_t(tid)] += n;
    }
  }
  PieceCounts counts = std::move(local[0]);
  for (int i = 1; i < nt; ++i) {
    for (auto& [k, v] : local[size_t(i)]) counts[k] += v;
    PieceCounts().swap(local[size_t(i)]);
  }
  for (auto n : local_pieces) st.pieces += n;
  st.distinct_pieces = int64_t(counts.size());
  st.count_seconds = t.seconds();
  if (log)
    log(str("counted ", st.pieces, " pieces (", st.distinct_pieces, " distinct) in ", st.bytes, " bytes, ",
            st.count_seconds, " s"));

  // 2. Words as byte sequences, in a fixed order so training is deterministic whatever the thread count.
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  PieceCounts().swap(counts);
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (auto& [s, c] : sorted) {
    if (s.size() < 2) continue;  // a single byte never takes part in a merge
    Word w{{}, c};
    w.sym.reserve(s.size());
    for (unsigned char b : s) w.sym.push_back(int32_t(b));
    words.push_back(std::move(w));
  }
  sorted.clear();
  sorted.shrink_to_fit();

  t.reset();
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w].sym;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = pkey(s[i], s[i + 1]);
      pair_count[k] += words[w].count;
      auto& v = where[k];
      if (v.empty() || v.back() != int32_t(w)) v.push_back(int32_t(w));
    }
  }
  // Max-heap on count; ties go to the smaller pair of ids (deterministic, like HF's trainer).
  struct Entry {
    int64_t count;
    uint64_t pair;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
  };
  std::priority_queue<Entry> heap;
  for (auto& [k, c] : pair_count) heap.push({c, k});

  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[size_t(b)] = std::string(1, char(b));
  std::unordered_map<std::string, int32_t> token_ids;
  for (int b = 0; b < 256; ++b) token_ids[tokens[size_t(b)]] = b;
  const size_t target = size_t(256 + n_merges);
  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<int32_t> seen(words.size(), -1);
  std::vector<int32_t> fresh;
  while (tokens.size() < target && !heap.empty()) {
    const Entry e = heap.top();
    heap.pop();
    auto it = pair_count.find(e.pair);
    const int64_t cur = it == pair_count.end() ? 0 : it->second;
    if (cur != e.count) {
      if (cur > 0) heap.push({cur, e.pair});
      continue;
    }
    if (cur < opt.min_frequency) break;
    const int32_t a = int32_t(e.pair >> 32), b = int32_t(e.pair & 0xFFFFFFFFu);
    // Two different merges can spell the same bytes ("ab"+"c", "a"+"bc"); like HF, they share one id.
    std::string merged = tokens[size_t(a)] + tokens[size_t(b)];
    auto [tid, inserted] = token_ids.emplace(merged, int32_t(tokens.size()));
    const int32_t c = tid->second;
    if (inserted) tokens.push_back(std::move(merged));
    merges.push_back({a, b});
    const int32_t step = int32_t(merges.size());
    std::vector<int32_t> affected = std::move(where[e.pair]);
    where.erase(e.pair);
    std::unordered_map<uint64_t, int64_t> delta;
    for (int32_t w : affected) {
      if (seen[size_t(w)] == step) continue;
      seen[size_t(w)] = step;
      auto& s = words[size_t(w)].sym;
      const int64_t wc = words[size_t(w)].count;
      bool found = false;
      for (size_t i = 0; i + 1 < s.size(); ++i) found = found || (s[i] == a && s[i + 1] == b);
      if (!found) continue;  // stale entry: an earlier merge already consumed the pair here
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[pkey(s[i], s[i + 1])] -= wc;
      fresh.clear();
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          fresh.push_back(c);
          ++i;
        } else {
          fresh.push_back(s[i]);
        }
      }
      s.swap(fresh);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = pkey(s[i], s[i + 1]);
        delta[k] += wc;
        if (s[i] == c || s[i + 1] == c) {
          auto& v = where[k];
          if (v.empty() || v.back() != w) v.push_back(w);
        }
      }
    }
    for (auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& pc = pair_count[k];
      pc += d;
      if (d > 0) heap.push({pc, k});
      if (pc <= 0) pair_count.erase(k);
    }
    if (log && step % 1000 == 0) log(str("merge ", step, ": ", tokens.size(), "/", target, " tokens, ", t.seconds(), " s"));
  }
  st.merge_seconds = t.seconds();
  if (tokens.size() < target && log)
    log(str("stopped at ", tokens.size(), " tokens: no pair occurs ", opt.min_frequency, "+ times"));

  HfBpeTokenizer out;
  out.tokens = std::move(tokens);
  out.merges = std::move(merges);
  out.pattern = opt.pattern.empty() ? kCl100kPattern : opt.pattern;
  int32_t id = int32_t(out.tokens.size());
  for (const auto& s : opt.added) out.added.push_back({id++, s, true});
  if (stats) *stats = st;
  return out;
}

}  // namespace hyb
