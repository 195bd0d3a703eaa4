#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/tiktoken_file.h"
#include "tokenizer/utf8.h"

namespace hyb {

namespace fs = std::filesystem;

Tokenizer::Tokenizer(BpeModel model, std::string pattern, std::vector<AddedToken> added, TokenizerConfig config)
    : model_(std::move(model)), pre_(std::move(pattern), config.split_keeps_gaps), added_(std::move(added)), config_(std::move(config)) {
  vocab_size_ = model_.size();
  for (const auto& a : added_) vocab_size_ = std::max(vocab_size_, a.id + 1);
  added_index_.assign(size_t(vocab_size_), -1);
  for (size_t i = 0; i < added_.size(); ++i) {
    const AddedToken& a = added_[i];
    if (a.content.empty()) fail("added token ", a.id, " is empty");
    if (model_.has(a.id)) fail("added token '", a.content, "' reuses id ", a.id, " of a vocabulary token");
    if (added_index_[size_t(a.id)] >= 0) fail("added tokens '", added_[size_t(added_index_[size_t(a.id)])].content,
                                              "' and '", a.content, "' share id ", a.id);
    added_index_[size_t(a.id)] = int32_t(i);
  }
  // Longest first, so that matching at one position prefers the longer added token.
  std::stable_sort(added_.begin(), added_.end(),
                   [](const AddedToken& x, const AddedToken& y) { return x.content.size() > y.content.size(); });
  for (size_t i = 0; i < added_.size(); ++i) added_index_[size_t(added_[i].id)] = int32_t(i);
  if (config_.eos_token.empty() && token_id(kEndOfText) >= 0) config_.eos_token = kEndOfText;
}

Tokenizer Tokenizer::from_tiktoken(const std::string& path) {
  std::vector<std::string> ranks = read_tiktoken_ranks(path);
  std::vector<AddedToken> added;
  TokenizerConfig cfg;
  if (ranks.size() == 100256) {  // cl100k_base: complete it to dolma2
    added = dolma2_added_tokens();
    cfg.eos_token = kEndOfText;
    cfg.pad_token = kPad;
  }
  BpeModel model;
  try {
    model = BpeModel::from_ranks(std::move(ranks));
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  Tokenizer t(std::move(model), kCl100kPattern, std::move(added), std::move(cfg));
  t.source_ = path;
  return t;
}

Tokenizer Tokenizer::from_hf_json(const std::string& json_path, const std::string& config_path) {
  HfBpeTokenizer h = read_hf_tokenizer_json(json_path);
  TokenizerConfig cfg;
  if (!config_path.empty()) cfg = read_hf_tokenizer_config(config_path);
  BpeModel model;
  try {
    model = BpeModel::from_merges(std::move(h.tokens), h.merges, h.ignore_merges);
  } catch (const Error& e) {
    fail(json_path, ": ", e.what());
  }
  try {
    cfg.split_keeps_gaps = h.isolated;
    Tokenizer t(std::move(model), std::move(h.pattern), std::move(h.added), std::move(cfg));
    t.source_ = json_path;
    for (const std::string* name : {&t.config_.eos_token, &t.config_.pad_token, &t.config_.bos_token})
      if (!name->empty() && t.token_id(*name) < 0)
        fail("tokenizer_config.json names '", *name, "', which is not a token");
    return t;
  } catch (const Error& e) {
    fail(json_path, ": ", e.what());
  }
}

std::string Tokenizer::default_path(const std::string& path, const std::string& model_dir) {
  if (!path.empty()) return path;
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(model_dir) / "tokenizer.json", ec) ? model_dir : "";
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path json = fs::path(path) / "tokenizer.json";
    if (!fs::exists(json)) fail(path, ": no tokenizer.json in this directory");
    const fs::path cfg = fs::path(path) / "tokenizer_config.json";
    return from_hf_json(json.string(), fs::exists(cfg) ? cfg.string() : "");
  }
  if (!fs::exists(path, ec)) fail(path, ": tokenizer file not found");
  if (path.size() >= 9 && path.ends_with(".tiktoken")) return from_tiktoken(path);
  const fs::path cfg = fs::path(path).parent_path() / "tokenizer_config.json";
  return from_hf_json(path, fs::exists(cfg) ? cfg.string() : "");
}

void Tokenizer::encode_ordinary_unchecked(std::string_view text, std::vector<int32_t>& out) const {
  pre_.split(text, [&](std::string_view piece) { model_.encode_piece(piece, out); });
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  if (const size_t bad = utf8_find_invalid(text); bad != std::string_view::npos)
    fail("text is not valid UTF-8 (byte ", bad, ")");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode_ordinary_unchecked(text, out);
  return out;
}

std::vector<int32_t> Tokenizer::encode_with_special(std::string_view text) const {
  if (const size_t bad = utf8_find_invalid(text); bad != std::string_view::npos)
    fail("text is not valid UTF-8 (byte ", bad, ")");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  // next[i]: where added token i occurs next at or after the scan position (npos when never again). Each token's
  // occurrences are found once, so the scan is linear in the text per added token.
  std::vector<size_t> next(added_.size());
  for (size_t i = 0; i < added_.size(); ++i) next[i] = text.find(added_[i].content);
  size_t pos = 0;
  while (true) {
    size_t best = std::string_view::npos, which = 0;
    for (size_t i = 0; i < added_.size(); ++i) {
      if (next[i] != std::string_view::npos && next[i] < pos) next[i] = text.find(added_[i].content, pos);
      if (next[i] < best) {  // strict: at a tie the earlier (longer) token stays
        best = next[i];
        which = i;
      }
    }
    if (best == std::string_view::npos) break;
    encode_ordinary_unchecked(text.substr(pos, best - pos), out);
    out.push_back(added_[which].id);
    pos = best + added_[which].content.size();
  }
  encode_ordinary_unchecked(text.substr(pos), out);
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string_view>& texts,
                                                          bool with_special) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::vector<std::string> errors(texts.size());
  // Exceptions must not cross the OpenMP region: collect them and report the first document that failed.
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      out[i] = with_special ? encode_with_special(texts[i]) : encode(texts[i]);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (size_t i = 0; i < texts.size(); ++i)
    if (!errors[i].empty()) fail("document ", i, ": ", errors[i]);
  return out;
}

void Tokenizer::decode_append(int32_t id, std::string& out) const {
  if (model_.has(id)) {
    out += model_.bytes(id);
  } else if (id >= 0 && id < vocab_size_ && added_index_[size_t(id)] >= 0) {
    out += added_[size_t(added_index_[size_t(id)])].content;
  } else {
    fail("token id ", id, " is not in the vocabulary (", vocab_size_, " ids)");
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) decode_append(id, out);
  return out;
}

int32_t Tokenizer::token_id(std::string_view s) const {
  for (const auto& a : added_)
    if (a.content == s) return a.id;
  return model_.find(s);
}

bool Tokenizer::is_added(int32_t id) const {
  return id >= 0 && id < vocab_size_ && added_index_[size_t(id)] >= 0;
}

std::optional<int32_t> Tokenizer::eos_id() const {
  if (config_.eos_token.empty()) return std::nullopt;
  const int32_t id = token_id(config_.eos_token);
  if (id < 0) return std::nullopt;
  return id;
}

std::vector<int32_t> Tokenizer::stop_ids(bool chat) const {
  std::vector<int32_t> ids;
  if (auto e = eos_id()) ids.push_back(*e);
  if (chat)
    if (int32_t id = token_id(kImEnd); id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  return ids;
}

}  // namespace hyb
