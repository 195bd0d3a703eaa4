// The tokenizer users see: split regex + byte-level BPE + added tokens + the settings of tokenizer_config.json.
// Loads .tiktoken rank files and HF tokenizer.json; encodes in tiktoken's "ordinary" mode by default (special
// strings are plain text, so user text cannot inject control tokens) or with added tokens matched (HF encode).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"

namespace hyb {

// The parts of tokenizer_config.json generation needs.
struct TokenizerConfig {
  std::string eos_token, pad_token, bos_token;
  std::string chat_template;  // Jinja source as found; rendering uses render_chat (chat_template.h)
  bool split_keeps_gaps = false;  // pre_tokenizer Split "Isolated": unmatched text is a piece (pretokenizer.h)
};

class Tokenizer {
 public:
  // path: a .tiktoken rank file, a tokenizer.json, or a directory holding tokenizer.json (and optionally
  // tokenizer_config.json). A rank file with exactly cl100k's 100256 ranks gets dolma2's added tokens.
  static Tokenizer load(const std::string& path);
  // The tokenizer a command uses for a model: `path` when given, else the model directory when it holds
  // tokenizer.json, else "" (none: text input is then an error for the caller to name).
  static std::string default_path(const std::string& path, const std::string& model_dir);
  static Tokenizer from_tiktoken(const std::string& path);
  static Tokenizer from_hf_json(const std::string& json_path, const std::string& config_path = "");
  Tokenizer(BpeModel model, std::string pattern, std::vector<AddedToken> added, TokenizerConfig config);

  // Ordinary encoding. Throws hyb::Error if text is not valid UTF-8.
  std::vector<int32_t> encode(std::string_view text) const;
  // Added tokens found in text become their ids (longest match wins); the rest is encoded ordinarily.
  std::vector<int32_t> encode_with_special(std::string_view text) const;
  // Many documents at once, in parallel over documents (OpenMP, the current thread count); results in order.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string_view>& texts,
                                                 bool with_special = false) const;
  // Appends; text must already be valid UTF-8 (for batch callers that validated a whole file once).
  void encode_ordinary_unchecked(std::string_view text, std::vector<int32_t>& out) const;

  // Exact bytes (not necessarily UTF-8). Throws on an id that is neither a token nor an added token.
  std::string decode(std::span<const int32_t> ids) const;
  void decode_append(int32_t id, std::string& out) const;

  // Id of an added token or, failing that, of a vocabulary token spelled by these raw bytes; -1 if none.
  int32_t token_id(std::string_view s) const;
  bool is_added(int32_t id) const;
  bool has_id(int32_t id) const { return model_.has(id) || is_added(id); }
  int32_t vocab_size() const { return vocab_size_; }  // one past the largest id
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const TokenizerConfig& config() const { return config_; }
  const BpeModel& model() const { return model_; }
  const PreTokenizer& pretokenizer() const { return pre_; }
  const std::string& source() const { return source_; }

  std::optional<int32_t> eos_id() const;
  // Tokens that end generation: EOS, plus <|im_end|> for chat.
  std::vector<int32_t> stop_ids(bool chat) const;

 private:
  BpeModel model_;
  PreTokenizer pre_;
  std::vector<AddedToken> added_;
  std::vector<int32_t> added_index_;  // id -> index into added_, or -1
  TokenizerConfig config_;
  int32_t vocab_size_ = 0;
  std::string source_;
};

}  // namespace hyb
