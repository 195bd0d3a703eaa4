#include "tokenizer/hf_json.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/json_parse.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/read_file.h"
#include "tokenizer/byte_level.h"

namespace hyb {

using nlohmann::json;

namespace {

json parse_file(const std::string& path) { return read_json_file(path); }

bool is_null_or_absent(const json& j, const char* key) { return !j.contains(key) || j[key].is_null(); }

const json& need(const std::string& path, const json& j, const char* key, const char* where) {
  if (!j.is_object() || !j.contains(key)) fail(path, ": ", where, ".", key, " is missing");
  return j[key];
}

// Reads the pre_tokenizer into a split pattern. Accepted: the cl100k layout (Split + ByteLevel without regex),
// a lone Split (the ByteLevel mapping is implied by the byte-level vocabulary), or GPT-2's ByteLevel(use_regex).
std::string read_pattern(const std::string& path, const json& pt, bool* isolated) {
  if (pt.is_null()) fail(path, ": pre_tokenizer is null (byte-level BPE needs a split regex)");
  const std::string type = pt.value("type", "");
  auto byte_level = [&](const json& b) -> bool {  // returns use_regex
    if (b.value("add_prefix_space", false)) fail(path, ": pre_tokenizer ByteLevel.add_prefix_space=true is not supported");
    return b.value("use_regex", true);
  };
  auto split = [&](const json& s) -> std::string {
    const json& pat = need(path, s, "pattern", "pre_tokenizer.Split");
    if (!pat.is_object() || !pat.contains("Regex") || !pat["Regex"].is_string())
      fail(path, ": pre_tokenizer.Split.pattern must be {\"Regex\": ...}");
    const std::string behavior = s.value("behavior", "");
    const bool invert = s.value("invert", false);
    if (!(behavior == "Removed" && invert) && !(behavior == "Isolated" && !invert))
      fail(path, ": pre_tokenizer.Split behavior '", behavior, "' with invert=", invert,
           " is not supported (expected Removed + invert=true)");
    *isolated = behavior == "Isolated";
    return pat["Regex"].get<std::string>();
  };
  if (type == "ByteLevel") {
    if (!byte_level(pt)) fail(path, ": pre_tokenizer ByteLevel with use_regex=false and no Split has no split regex");
    return kGpt2Pattern;
  }
  if (type == "Split") return split(pt);
  if (type == "Sequence") {
    const json& list = need(path, pt, "pretokenizers", "pre_tokenizer");
    if (!list.is_array() || list.empty()) fail(path, ": pre_tokenizer.pretokenizers must be a non-empty array");
    std::string pattern;
    for (const json& p : list) {
      const std::string t = p.value("type", "");
      if (t == "Split") {
        if (!pattern.empty()) fail(path, ": pre_tokenizer has more than one split regex (not supported)");
        pattern = split(p);
      } else if (t == "ByteLevel") {
        if (byte_level(p)) {
          if (!pattern.empty()) fail(path, ": pre_tokenizer has both a Split and ByteLevel(use_regex=true) (not supported)");
          pattern = kGpt2Pattern;
        }
      } else {
        fail(path, ": pre_tokenizer type '", t, "' is not supported");
      }
    }
    if (pattern.empty()) fail(path, ": pre_tokenizer has no split regex");
    return pattern;
  }
  fail(path, ": pre_tokenizer type '", type, "' is not supported");
}

std::string token_string(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

}  // namespace

HfBpeTokenizer read_hf_tokenizer_json(const std::string& path) {
  const json root = parse_file(path);
  if (!root.is_object()) fail(path, ": top level must be a JSON object");
  HfBpeTokenizer t;

  if (!is_null_or_absent(root, "normalizer")) fail(path, ": normalizer is not supported (byte-level BPE needs none)");
  const json& model = need(path, root, "model", "tokenizer");
  const std::string mtype = model.value("type", "BPE");
  if (mtype != "BPE") fail(path, ": model.type '", mtype, "' is not supported (only BPE)");
  if (!is_null_or_absent(model, "dropout")) fail(path, ": model.dropout is not supported");
  if (model.value("byte_fallback", false)) fail(path, ": model.byte_fallback is not supported");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(k) && model[k].is_string() && !model[k].get<std::string>().empty())
      fail(path, ": model.", k, " is not supported");
  t.ignore_merges = model.value("ignore_merges", false);

  // Added tokens first, so their vocabulary entries can be left out of the BPE model.
  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    const json& at = root["added_tokens"];
    if (!at.is_array()) fail(path, ": added_tokens must be an array");
    for (size_t i = 0; i < at.size(); ++i) {
      const json& a = at[i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string() || a["content"].get<std::string>().empty())
        fail(path, ": added_tokens[", i, "] needs an integer id and a non-empty string content");
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= (1 << 30)) fail(path, ": added_tokens[", i, "].id ", id, " is out of range");
      t.added.push_back({int32_t(id), a["content"].get<std::string>(), a.value("special", false)});
    }
  }
  std::unordered_map<int32_t, std::string> added_by_id;
  for (auto& a : t.added) added_by_id[a.id] = a.content;

  const json& vocab = need(path, model, "vocab", "model");
  if (!vocab.is_object()) fail(path, ": model.vocab must be an object of token -> id");
  std::unordered_map<std::string, int32_t> text_to_id;
  text_to_id.reserve(vocab.size());
  std::string bytes;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) fail(path, ": model.vocab['", it.key(), "'] is not an integer id");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= (1 << 30)) fail(path, ": model.vocab['", it.key(), "'] = ", id, " is out of range");
    if (auto a = added_by_id.find(int32_t(id)); a != added_by_id.end()) {
      if (a->second != it.key())
        fail(path, ": id ", id, " is '", it.key(), "' in model.vocab but '", a->second, "' in added_tokens");
      continue;
    }
    if (!byte_level_to_bytes(it.key(), bytes))
      fail(path, ": model.vocab token '", it.key(), "' is not byte-level text (not a byte-level BPE vocabulary)");
    if (size_t(id) >= t.tokens.size()) t.tokens.resize(size_t(id) + 1);
    if (!t.tokens[size_t(id)].empty()) fail(path, ": model.vocab uses id ", id, " twice");
    t.tokens[size_t(id)] = bytes;
    text_to_id.emplace(it.key(), int32_t(id));
  }
  if (t.tokens.empty()) fail(path, ": model.vocab is empty");

  const json& merges = need(path, model, "merges", "model");
  if (!merges.is_array()) fail(path, ": model.merges must be an array");
  t.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail(path, ": model.merges[", i, "] '", s, "' is not two tokens separated by one space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      fail(path, ": model.merges[", i, "] must be \"a b\" or [\"a\", \"b\"]");
    }
    const auto ia = text_to_id.find(a), ib = text_to_id.find(b);
    if (ia == text_to_id.end() || ib == text_to_id.end())
      fail(path, ": model.merges[", i, "] uses a token that is not in model.vocab");
    t.merges.push_back({ia->second, ib->second});
  }

  t.pattern = read_pattern(path, root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json(), &t.isolated);
  if (!is_null_or_absent(root, "decoder") && root["decoder"].value("type", "") != "ByteLevel")
    fail(path, ": decoder type '", root["decoder"].value("type", ""), "' is not supported (expected ByteLevel)");
  return t;
}

TokenizerConfig read_hf_tokenizer_config(const std::string& path) {
  const json root = parse_file(path);
  if (!root.is_object()) fail(path, ": top level must be a JSON object");
  TokenizerConfig c;
  if (root.contains("eos_token")) c.eos_token = token_string(root["eos_token"]);
  if (root.contains("pad_token")) c.pad_token = token_string(root["pad_token"]);
  if (root.contains("bos_token")) c.bos_token = token_string(root["bos_token"]);
  if (root.contains("chat_template") && root["chat_template"].is_string())
    c.chat_template = root["chat_template"].get<std::string>();
  return c;
}

void write_hf_tokenizer(const std::string& dir, const HfBpeTokenizer& t, const TokenizerConfig& config,
                        int64_t model_max_length) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create directory (", ec.message(), ")");

  std::vector<std::string> text(t.tokens.size());
  for (size_t id = 0; id < t.tokens.size(); ++id)
    if (!t.tokens[id].empty()) text[id] = bytes_to_byte_level(t.tokens[id]);

  auto added_json = [](const AddedToken& a) {
    json j = json::object();
    j["id"] = a.id;
    j["content"] = a.content;
    j["single_word"] = false;
    j["lstrip"] = false;
    j["rstrip"] = false;
    j["normalized"] = false;
    j["special"] = a.special;
    return j;
  };

  // Written by hand around json::dump of the pieces: the vocabulary must stay in id order, and an ordered JSON
  // object of 100k keys is quadratic to build.
  std::string out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [";
  for (size_t i = 0; i < t.added.size(); ++i) out += (i ? ",\n    " : "\n    ") + added_json(t.added[i]).dump();
  out += "\n  ],\n  \"normalizer\": null,\n";
  json pre = {{"type", "Sequence"},
              {"pretokenizers",
               json::array({json{{"type", "Split"},
                                 {"pattern", {{"Regex", t.pattern}}},
                                 {"behavior", t.isolated ? "Isolated" : "Removed"},
                                 {"invert", !t.isolated}},
                            json{{"type", "ByteLevel"},
                                 {"add_prefix_space", false},
                                 {"trim_offsets", true},
                                 {"use_regex", false}}})}};
  out += "  \"pre_tokenizer\": " + pre.dump() + ",\n";
  out += "  \"post_processor\": null,\n";
  json dec = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  out += "  \"decoder\": " + dec.dump() + ",\n";
  out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
         "    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n    \"fuse_unk\": false,\n"
         "    \"byte_fallback\": false,\n";
  out += std::string("    \"ignore_merges\": ") + (t.ignore_merges ? "true" : "false") + ",\n";
  out += "    \"vocab\": {";
  // Added tokens are listed in the vocabulary too, as HF's own files do; some loaders map ids back through it.
  std::vector<std::pair<int32_t, std::string>> entries;
  std::unordered_map<std::string, int32_t> used;
  for (size_t id = 0; id < text.size(); ++id)
    if (!text[id].empty()) entries.push_back({int32_t(id), text[id]});
  for (const auto& a : t.added) entries.push_back({a.id, a.content});
  std::sort(entries.begin(), entries.end());
  bool first = true;
  for (const auto& [id, s] : entries) {
    if (!used.emplace(s, id).second) fail(dir, ": token '", s, "' would appear twice in the vocabulary");
    out += first ? "\n      " : ",\n      ";
    first = false;
    out += json(s).dump() + ": " + std::to_string(id);
  }
  out += "\n    },\n    \"merges\": [";
  for (size_t i = 0; i < t.merges.size(); ++i) {
    out += i ? ",\n      " : "\n      ";
    out += json(text[size_t(t.merges[i].first)] + " " + text[size_t(t.merges[i].second)]).dump();
  }
  out += "\n    ]\n  }\n}\n";

  const std::string tok_path = (std::filesystem::path(dir) / "tokenizer.json").string();
  AtomicFile f(tok_path);
  f.write(out.data(), out.size());
  f.commit();

  json cfg = json::object();
  cfg["add_bos_token"] = false;
  cfg["add_eos_token"] = false;
  json dec_map = json::object();
  for (const auto& a : t.added) {
    json j = added_json(a);
    j.erase("id");
    dec_map[std::to_string(a.id)] = j;
  }
  cfg["added_tokens_decoder"] = dec_map;
  if (!config.bos_token.empty()) cfg["bos_token"] = config.bos_token;
  cfg["chat_template"] = config.chat_template;
  cfg["clean_up_tokenization_spaces"] = false;
  if (!config.eos_token.empty()) cfg["eos_token"] = config.eos_token;
  cfg["model_max_length"] = model_max_length;
  if (!config.pad_token.empty()) cfg["pad_token"] = config.pad_token;
  // Not GPT2Tokenizer: transformers' slow GPT-2 path ignores the Split regex and segments differently.
  cfg["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (!config.eos_token.empty()) cfg["unk_token"] = config.eos_token;
  const std::string cfg_text = cfg.dump(2) + "\n";
  const std::string cfg_path = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  AtomicFile g(cfg_path);
  g.write(cfg_text.data(), cfg_text.size());
  g.commit();
}

}  // namespace hyb
