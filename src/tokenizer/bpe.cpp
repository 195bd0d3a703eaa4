#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "core/error.h"

namespace hyb {

uint64_t hash_bytes(std::string_view s) {
  // Multiply-xorshift over 8-byte words; token strings are short, so the tail handling matters most.
  const uint64_t m = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * m);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

namespace {
size_t table_capacity(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  return cap;
}
uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t(uint32_t(a)) << 32) | uint32_t(b)) + 1; }
uint64_t mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDull;
  k ^= k >> 33;
  return k;
}
// Below this many bytes the plain rescanning loop beats the heap.
constexpr size_t kSmallPiece = 24;
}  // namespace

void BpeModel::build_index() {
  count_ = 0;
  const size_t cap = table_capacity(tokens_.size());
  token_slots_.assign(cap, -1);
  token_hash_.assign(cap, 0);
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& t = tokens_[id];
    if (t.empty()) continue;
    const uint64_t h = hash_bytes(t);
    size_t s = h & (cap - 1);
    while (token_slots_[s] >= 0) {
      if (tokens_[size_t(token_slots_[s])] == t) fail("vocabulary: token ", id, " duplicates token ", token_slots_[s]);
      s = (s + 1) & (cap - 1);
    }
    token_slots_[s] = int32_t(id);
    token_hash_[s] = uint32_t(h);
    ++count_;
  }
  for (int b = 0; b < 256; ++b) {
    const char c = char(b);
    byte_id_[b] = find(std::string_view(&c, 1));
  }
}

int32_t BpeModel::find(std::string_view bytes) const {
  if (token_slots_.empty()) return -1;
  const uint64_t h = hash_bytes(bytes);
  const size_t mask = token_slots_.size() - 1;
  for (size_t s = h & mask;; s = (s + 1) & mask) {
    const int32_t id = token_slots_[s];
    if (id < 0) return -1;
    if (token_hash_[s] == uint32_t(h) && tokens_[size_t(id)] == bytes) return id;
  }
}

void BpeModel::add_pair(int32_t a, int32_t b, int32_t priority, int32_t result) {
  const uint64_t key = pair_key(a, b);
  const size_t mask = pair_keys_.size() - 1;
  for (size_t s = mix64(key) & mask;; s = (s + 1) & mask) {
    if (pair_keys_[s] == 0) {
      pair_keys_[s] = key;
      pair_vals_[s] = {priority, result};
      return;
    }
    if (pair_keys_[s] == key) {
      // HF: a repeated merge keeps its first (highest-priority) position.
      return;
    }
  }
}

const BpeModel::PairVal* BpeModel::find_pair(int32_t a, int32_t b) const {
  const uint64_t key = pair_key(a, b);
  const size_t mask = pair_keys_.size() - 1;
  for (size_t s = mix64(key) & mask;; s = (s + 1) & mask) {
    if (pair_keys_[s] == key) return &pair_vals_[s];
    if (pair_keys_[s] == 0) return nullptr;
  }
}

BpeModel BpeModel::from_ranks(std::vector<std::string> tokens) {
  BpeModel m;
  m.tokens_ = std::move(tokens);
  m.build_index();
  for (int b = 0; b < 256; ++b)
    if (m.byte_id_[b] < 0) fail("vocabulary has no token for the single byte ", b, " (every byte needs one)");
  // Every split of a token into two tokens is a mergeable pair with the token's rank.
  std::vector<std::pair<uint64_t, PairVal>> pairs;
  for (size_t id = 0; id < m.tokens_.size(); ++id) {
    const std::string_view t = m.tokens_[id];
    for (size_t k = 1; k < t.size(); ++k) {
      const int32_t a = m.find(t.substr(0, k));
      if (a < 0) continue;
      const int32_t b = m.find(t.substr(k));
      if (b < 0) continue;
      pairs.push_back({0, {int32_t(id), int32_t(id)}});
      pairs.back().first = pair_key(a, b);
    }
  }
  m.pair_keys_.assign(table_capacity(pairs.size()), 0);
  m.pair_vals_.assign(m.pair_keys_.size(), {0, 0});
  for (auto& [key, v] : pairs) {
    const uint64_t k = key - 1;
    m.add_pair(int32_t(k >> 32), int32_t(k & 0xFFFFFFFFu), v.priority, v.result);
  }
  m.whole_.assign(m.tokens_.size(), 1);  // tiktoken looks a whole piece up before merging
  return m;
}

BpeModel BpeModel::from_merges(std::vector<std::string> tokens, const std::vector<std::pair<int32_t, int32_t>>& merges,
                               bool ignore_merges) {
  BpeModel m;
  m.tokens_ = std::move(tokens);
  m.build_index();
  m.pair_keys_.assign(table_capacity(merges.size()), 0);
  m.pair_vals_.assign(m.pair_keys_.size(), {0, 0});
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto [a, b] = merges[i];
    if (!m.has(a) || !m.has(b)) fail("merge ", i, " refers to an unknown token");
    const int32_t r = m.find(m.tokens_[size_t(a)] + m.tokens_[size_t(b)]);
    if (r < 0) fail("merge ", i, ": the merged token is not in the vocabulary");
    m.add_pair(a, b, int32_t(i), r);
  }
  m.whole_.assign(m.tokens_.size(), 0);
  // A whole-token lookup is a pure shortcut when the merges rebuild that token from its bytes; checking this once
  // keeps HF semantics exact while making the common case (a word that is one token) a single hash lookup.
  std::vector<int32_t> parts;
  for (size_t id = 0; id < m.tokens_.size(); ++id) {
    const std::string& t = m.tokens_[id];
    if (t.empty()) continue;
    if (ignore_merges) {
      m.whole_[id] = 1;
      continue;
    }
    bool bytes_known = true;
    for (unsigned char c : t) bytes_known = bytes_known && m.byte_id_[c] >= 0;
    if (!bytes_known) continue;
    parts.clear();
    if (t.size() <= kSmallPiece)
      m.merge_small(t, INT64_MAX, parts);
    else
      m.merge_heap(t, INT64_MAX, parts);
    m.whole_[id] = parts.size() == 1 && parts[0] == int32_t(id);
  }
  return m;
}

void BpeModel::merge_small(std::string_view piece, int64_t max_priority, std::vector<int32_t>& out) const {
  int32_t ids[kSmallPiece];
  size_t n = piece.size();
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id_[static_cast<unsigned char>(piece[i])];
    if (ids[i] < 0) fail("byte ", int(static_cast<unsigned char>(piece[i])), " has no token in this vocabulary");
  }
  while (n > 1) {
    int64_t best = max_priority;
    size_t at = n;
    int32_t result = -1;
    for (size_t i = 0; i + 1 < n; ++i) {
      const PairVal* p = find_pair(ids[i], ids[i + 1]);
      if (p && p->priority < best) {
        best = p->priority;
        at = i;
        result = p->result;
      }
    }
    if (at == n) break;
    ids[at] = result;
    std::memmove(ids + at + 1, ids + at + 2, (n - at - 2) * sizeof(int32_t));
    --n;
  }
  out.insert(out.end(), ids, ids + n);
}

void BpeModel::merge_heap(std::string_view piece, int64_t max_priority, std::vector<int32_t>& out) const {
  // Parts form a linked list over byte positions; candidate merges sit in a min-heap keyed by (priority,
  // position). Entries are validated when popped, so stale ones cost nothing: O(n log n) for an n-byte piece.
  const size_t n = piece.size();
  std::vector<int32_t> ids(n), next(n), prev(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id_[static_cast<unsigned char>(piece[i])];
    if (ids[i] < 0) fail("byte ", int(static_cast<unsigned char>(piece[i])), " has no token in this vocabulary");
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
    prev[i] = int32_t(i) - 1;
  }
  struct Cand {
    int32_t priority, pos, left, right, result;
    bool operator>(const Cand& o) const { return priority != o.priority ? priority > o.priority : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t i) {
    if (i < 0 || next[size_t(i)] < 0) return;
    const int32_t j = next[size_t(i)];
    const PairVal* p = find_pair(ids[size_t(i)], ids[size_t(j)]);
    if (p && p->priority < max_priority) heap.push({p->priority, i, ids[size_t(i)], ids[size_t(j)], p->result});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  std::vector<uint8_t> dead(n, 0);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const size_t i = size_t(c.pos);
    if (dead[i] || next[i] < 0) continue;
    const size_t j = size_t(next[i]);
    if (ids[i] != c.left || ids[j] != c.right) continue;
    ids[i] = c.result;
    dead[j] = 1;
    next[i] = next[j];
    if (next[j] >= 0) prev[size_t(next[j])] = int32_t(i);
    push(prev[i]);
    push(int32_t(i));
  }
  for (int32_t i = 0; i >= 0; i = next[size_t(i)]) out.push_back(ids[size_t(i)]);
}

std::vector<int32_t> BpeModel::merge(std::string_view piece, int64_t max_priority) const {
  std::vector<int32_t> out;
  if (piece.empty()) return out;
  if (piece.size() <= kSmallPiece)
    merge_small(piece, max_priority, out);
  else
    merge_heap(piece, max_priority, out);
  return out;
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (piece.size() == 1) {
    const int32_t id = byte_id_[static_cast<unsigned char>(piece[0])];
    if (id < 0) fail("byte ", int(static_cast<unsigned char>(piece[0])), " has no token in this vocabulary");
    out.push_back(id);
    return;
  }
  const int32_t whole = find(piece);
  if (whole >= 0 && whole_[size_t(whole)]) {
    out.push_back(whole);
    return;
  }
  if (piece.size() <= kSmallPiece)
    merge_small(piece, INT64_MAX, out);
  else
    merge_heap(piece, INT64_MAX, out);
}

std::vector<std::pair<int32_t, int32_t>> BpeModel::derive_merges() const {
  std::vector<std::pair<int32_t, int32_t>> merges;
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& t = tokens_[id];
    if (t.size() < 2) continue;
    const auto parts = merge(t, int64_t(id));
    if (parts.size() != 2) fail("token ", id, " cannot be reached by merging lower-ranked tokens");
    merges.push_back({parts[0], parts[1]});
  }
  return merges;
}

}  // namespace hyb
