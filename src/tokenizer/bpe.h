// Byte-level BPE over token ids. Both tiktoken rank files and HF merge lists become one table of mergeable pairs
// (left id, right id) -> (priority, result id), so a single merge loop serves both:
//  * tiktoken: any two adjacent parts whose concatenated bytes are a token merge, lowest rank (= id) first;
//    so every split of every token into two tokens is a pair, with the token's rank as priority.
//  * HF: only the listed merges apply, in list order.
// Ties go to the leftmost pair in both (tiktoken scans left to right, HF orders its queue by position).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hyb {

class BpeModel {
 public:
  BpeModel() = default;

  // tokens[id] = raw bytes; ranks are the ids. Empty strings mark unused ids. Throws on duplicate tokens or a
  // missing single byte.
  static BpeModel from_ranks(std::vector<std::string> tokens);
  // merges in priority order, as (left id, right id); the result is the token spelled by the concatenation.
  // ignore_merges: HF's flag, a piece that is a whole token is emitted as is.
  static BpeModel from_merges(std::vector<std::string> tokens, const std::vector<std::pair<int32_t, int32_t>>& merges,
                              bool ignore_merges);

  // Appends the ids of one pre-tokenized piece.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  // The merge loop alone, optionally only with pairs of priority < max_priority (used to derive HF merges
  // from ranks). Returns the parts as ids.
  std::vector<int32_t> merge(std::string_view piece, int64_t max_priority = INT64_MAX) const;

  int32_t find(std::string_view bytes) const;  // id of a token, -1 if none
  const std::string& bytes(int32_t id) const { return tokens_[size_t(id)]; }
  bool has(int32_t id) const { return id >= 0 && size_t(id) < tokens_.size() && !tokens_[size_t(id)].empty(); }
  int32_t size() const { return int32_t(tokens_.size()); }  // one past the largest id
  int32_t count() const { return count_; }                  // number of tokens

  // HF-style merge list that reproduces this model's segmentation: for every token of two or more bytes, the
  // two parts the merge loop reaches when limited to lower priorities. Fails if a token is unreachable.
  std::vector<std::pair<int32_t, int32_t>> derive_merges() const;

 private:
  struct PairVal {
    int32_t priority;
    int32_t result;
  };
  void build_index();
  void add_pair(int32_t a, int32_t b, int32_t priority, int32_t result);
  const PairVal* find_pair(int32_t a, int32_t b) const;
  void merge_small(std::string_view piece, int64_t max_priority, std::vector<int32_t>& out) const;
  void merge_heap(std::string_view piece, int64_t max_priority, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  int32_t count_ = 0;
  int32_t byte_id_[256] = {};
  // Open-addressing tables (power-of-two capacity, linear probing).
  std::vector<int32_t> token_slots_;  // id or -1
  std::vector<uint32_t> token_hash_;
  std::vector<uint64_t> pair_keys_;   // (a << 32 | b) + 1, 0 = empty
  std::vector<PairVal> pair_vals_;
  // whole_[id]: a piece spelling this token encodes to exactly [id], so the merge loop can be skipped.
  std::vector<uint8_t> whole_;
};

uint64_t hash_bytes(std::string_view s);

}  // namespace hyb
