#include "train/posttrain_data.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/jsonl.h"
#include "core/error.h"

namespace hyb {

using nlohmann::json;

int64_t ScoredRow::scored() const {
  int64_t n = 0;
  for (int32_t t : targets) n += t >= 0;
  return n;
}

std::string PostTrainDataStats::summary() const {
  return str(rows, " rows", bad ? str(", ", bad, " bad skipped") : std::string(),
             truncated ? str(", ", truncated, " truncated") : std::string(),
             dropped ? str(", ", dropped, " dropped") : std::string());
}

ScoredRow tokenize_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages, bool last_only) {
  ChatOptions co;
  co.add_generation_prompt = false;
  if (!tok.config().eos_token.empty()) co.eos_token = tok.config().eos_token;
  std::vector<TextSpan> spans;
  const std::string text = render_chat(messages, co, &spans);
  if (spans.empty()) fail("no assistant message to train on");
  if (last_only) spans.erase(spans.begin(), spans.end() - 1);
  ScoredRow r;
  r.ids = tok.encode_with_special(text);
  r.targets.assign(r.ids.size(), -1);
  std::string bytes;
  size_t si = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    const size_t at = bytes.size();  // first byte of token i
    tok.decode_append(r.ids[i], bytes);
    while (si < spans.size() && spans[si].end <= at) ++si;
    if (i > 0 && si < spans.size() && at >= spans[si].begin) r.targets[i - 1] = r.ids[i];
  }
  return r;
}

namespace {

// A row failure carries its message; the loader adds FILE:LINE.
[[noreturn]] void bad(const std::string& m) { bad_row(m); }

std::vector<int32_t> id_list(const json& j, const char* field, int64_t V) {
  if (!j.contains(field) || !j[field].is_array()) bad(str("'", field, "' must be an array of token ids"));
  std::vector<int32_t> ids;
  ids.reserve(j[field].size());
  for (const json& e : j[field]) {
    if (!e.is_number_integer()) bad(str("'", field, "' holds a non-integer"));
    const int64_t v = e.get<int64_t>();
    if (v < 0 || (V > 0 && v >= V) || v > INT32_MAX) bad(str("'", field, "' holds id ", v, " outside [0, ", V, ")"));
    ids.push_back(int32_t(v));
  }
  return ids;
}

std::vector<ChatMessage> messages(const json& j, const char* field) {
  if (!j.is_array() || j.empty()) bad(str("'", field, "' must be a non-empty array of messages"));
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& m = j[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      bad(str("'", field, "[", i, "]' must be an object with a string 'role'"));
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" && role != "environment")
      bad(str("'", field, "[", i, "].role' is '", role, "' (system, user, assistant, tool, environment)"));
    if (!m.contains("content") || !m["content"].is_string())
      bad(str("'", field, "[", i, "].content' must be a string"));
    out.push_back({role == "tool" ? "environment" : role, m["content"].get<std::string>()});
  }
  return out;
}

const Tokenizer& need_tok(const Tokenizer* tok) {
  if (!tok) bad("text rows need a tokenizer (the model directory has no tokenizer.json)");
  return *tok;
}

ScoredRow chat_row(const Tokenizer* tok, const std::vector<ChatMessage>& msgs, bool last_only) {
  if (msgs.back().role != "assistant") bad("the last message must be from the assistant");
  try {
    return tokenize_chat(need_tok(tok), msgs, last_only);
  } catch (const Error& e) {
    bad(e.what());
  }
}

ScoredRow sft_row(const json& j, const Tokenizer* tok, int64_t V) {
  if (j.contains("messages")) return chat_row(tok, messages(j["messages"], "messages"), false);
  if (j.contains("input_ids")) {
    ScoredRow r;
    r.ids = id_list(j, "input_ids", V);
    if (!j.contains("labels") || !j["labels"].is_array()) bad("'labels' must be an array (−100 = not scored)");
    const json& L = j["labels"];
    if (L.size() != r.ids.size()) bad(str("'labels' has ", L.size(), " entries, 'input_ids' ", r.ids.size()));
    r.targets.assign(r.ids.size(), -1);
    for (size_t t = 0; t < L.size(); ++t) {
      if (!L[t].is_number_integer()) bad("'labels' holds a non-integer");
      const int64_t v = L[t].get<int64_t>();
      if (v == -100) continue;
      if (v != r.ids[t]) bad(str("'labels'[", t, "] is ", v, " but input_ids[", t, "] is ", r.ids[t], " (a label is the token itself or -100)"));
      if (t > 0) r.targets[t - 1] = int32_t(v);
    }
    return r;
  }
  bad("an SFT row needs 'messages' or 'input_ids' + 'labels'");
}

std::vector<ChatMessage> turn_list(const json& v, const char* field, const char* role) {
  if (v.is_string()) return {{role, v.get<std::string>()}};
  if (!v.is_array()) bad(str("'", field, "' must be a string or a non-empty array of messages"));
  return messages(v, field);
}

PrefRow pref_row(const json& j, const Tokenizer* tok, int64_t V) {
  PrefRow p;
  if (j.contains("prompt_ids")) {
    const auto prompt = id_list(j, "prompt_ids", V);
    for (auto [field, out] : {std::pair{"chosen_ids", &p.chosen}, std::pair{"rejected_ids", &p.rejected}}) {
      const auto comp = id_list(j, field, V);
      if (comp.empty()) bad(str("'", field, "' is empty"));
      if (prompt.empty()) bad("'prompt_ids' is empty (the first completion token needs a context)");
      out->ids = prompt;
      out->ids.insert(out->ids.end(), comp.begin(), comp.end());
      out->targets.assign(out->ids.size(), -1);
      for (size_t t = prompt.size(); t < out->ids.size(); ++t) out->targets[t - 1] = out->ids[t];
    }
    return p;
  }
  if (!j.contains("chosen") || !j.contains("rejected")) bad("a DPO row needs 'chosen' and 'rejected'");
  std::vector<ChatMessage> prompt;
  if (j.contains("prompt")) prompt = turn_list(j["prompt"], "prompt", "user");
  for (auto [field, out] : {std::pair{"chosen", &p.chosen}, std::pair{"rejected", &p.rejected}}) {
    std::vector<ChatMessage> conv = prompt;
    const auto tail = turn_list(j[field], field, "assistant");
    conv.insert(conv.end(), tail.begin(), tail.end());
    *out = chat_row(tok, conv, true);
  }
  return p;
}

// Truncation keeps the first max_len tokens; a row left with nothing scored is dropped.
bool fit(ScoredRow& r, const PostTrainDataOptions& o, bool& truncated) {
  if (int64_t(r.ids.size()) <= o.max_len) return r.scored() > 0;
  if (o.drop_long) return false;
  truncated = true;
  r.ids.resize(size_t(o.max_len));
  r.targets.resize(size_t(o.max_len));
  r.targets.back() = -1;
  return r.scored() > 0;
}

template <class Row, class Parse>
std::vector<Row> load(const std::string& path, const PostTrainDataOptions& o, PostTrainDataStats* stats,
                      Parse parse) {
  if (o.max_len < 2) fail(path, ": max_len must be >= 2, got ", o.max_len);
  PostTrainDataStats st;
  std::vector<Row> rows;
  read_jsonl(
      path,
      [&](const json& j, int64_t) {
        if (!j.is_object()) bad("a row must be a JSON object");
        Row r = parse(j);
        bool truncated = false, keep;
        if constexpr (std::is_same_v<Row, PrefRow>) {
          keep = fit(r.chosen, o, truncated);
          keep = fit(r.rejected, o, truncated) && keep;
        } else {
          keep = fit(r, o, truncated);
        }
        st.truncated += truncated && keep;
        if (!keep) {
          ++st.dropped;
          return;
        }
        rows.push_back(std::move(r));
      },
      [&](int64_t line, const std::string& msg) {
        if (!o.skip_bad) fail(path, ":", line, ": ", msg, " (or pass --skip-bad)");
        ++st.bad;
      });
  st.rows = int64_t(rows.size());
  if (rows.empty()) fail(path, ": no usable rows (", st.summary(), ")");
  if (stats) *stats = st;
  return rows;
}

}  // namespace

std::vector<ScoredRow> load_sft_jsonl(const std::string& path, const Tokenizer* tok, const PostTrainDataOptions& o,
                                      PostTrainDataStats* stats) {
  return load<ScoredRow>(path, o, stats, [&](const json& j) { return sft_row(j, tok, o.vocab_size); });
}

std::vector<PrefRow> load_pref_jsonl(const std::string& path, const Tokenizer* tok, const PostTrainDataOptions& o,
                                     PostTrainDataStats* stats) {
  return load<PrefRow>(path, o, stats, [&](const json& j) { return pref_row(j, tok, o.vocab_size); });
}

}  // namespace hyb
