#include "eval/mc_items.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/jsonl.h"
#include "tokenizer/utf8.h"

namespace hyb {

using nlohmann::json;

namespace {

constexpr size_t kMaxChoices = 26;  // letters A-Z in the MC formulation

[[noreturn]] void bad(const std::string& m) { bad_row(m); }

std::vector<int32_t> ids_of(const json& j, const std::string& field, int64_t V) {
  if (!j.is_array()) bad(str("'", field, "' must be an array of token ids"));
  std::vector<int32_t> out;
  out.reserve(j.size());
  for (const json& e : j) {
    if (!e.is_number_integer()) bad(str("'", field, "' holds a non-integer"));
    const int64_t v = e.get<int64_t>();
    if (v < 0 || v > INT32_MAX || (V > 0 && v >= V)) bad(str("'", field, "' holds id ", v, " outside [0, ", V, ")"));
    out.push_back(int32_t(v));
  }
  return out;
}

const std::string& text_of(const json& j, const std::string& field) {
  if (!j.is_string()) bad(str("'", field, "' must be a string"));
  const std::string& s = j.get_ref<const std::string&>();
  if (utf8_find_invalid(s) != std::string::npos) bad(str("'", field, "' is not valid UTF-8"));
  return s;
}

McItem parse_row(const json& j, int64_t V) {
  if (!j.is_object()) bad("a row must be a JSON object");
  McItem it;
  if (j.contains("id")) it.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  if (!j.contains("answer") || !j["answer"].is_number_integer()) bad("'answer' must be the integer index of the correct choice");
  const int64_t answer = j["answer"].get<int64_t>();
  if (j.contains("context_ids") || j.contains("choice_ids")) {
    if (!j.contains("context_ids") || !j.contains("choice_ids"))
      bad("a pre-tokenized row needs both 'context_ids' and 'choice_ids'");
    it.context_ids = ids_of(j["context_ids"], "context_ids", V);
    if (it.context_ids.empty()) bad("'context_ids' is empty (the first choice token needs a context)");
    if (!j["choice_ids"].is_array()) bad("'choice_ids' must be an array of id arrays");
    for (size_t c = 0; c < j["choice_ids"].size(); ++c) {
      it.choice_ids.push_back(ids_of(j["choice_ids"][c], str("choice_ids[", c, "]"), V));
      if (it.choice_ids.back().empty()) bad(str("'choice_ids[", c, "]' is empty"));
    }
  } else {
    const bool q = j.contains("question"), c = j.contains("context");
    if (q == c) bad("a text row needs exactly one of 'question' and 'context'");
    (q ? it.question : it.context) = text_of(q ? j["question"] : j["context"], q ? "question" : "context");
    if (!j.contains("choices") || !j["choices"].is_array()) bad("'choices' must be an array of strings");
    for (size_t k = 0; k < j["choices"].size(); ++k) {
      it.choices.push_back(text_of(j["choices"][k], str("choices[", k, "]")));
      if (it.choices.back().empty()) bad(str("'choices[", k, "]' is empty"));
    }
  }
  const size_t n = it.num_choices();
  if (n < 2) bad(str("an item needs at least 2 choices, this one has ", n));
  if (n > kMaxChoices) bad(str("an item may have at most ", kMaxChoices, " choices (letters A-Z), this one has ", n));
  if (answer < 0 || answer >= int64_t(n)) bad(str("'answer' is ", answer, " but there are ", n, " choices"));
  it.answer = int(answer);
  return it;
}

bool ends_with_space(const std::string& s) { return !s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t'); }
bool starts_with_space(const std::string& s) { return !s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t'); }

int64_t code_points(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// Keeps the newest max_len − |continuation| context tokens.
McRequest fit(std::vector<int32_t> ctx, std::vector<int32_t> cont, int64_t max_len, const std::string& id) {
  if (cont.empty()) fail(id, ": a choice encodes to no tokens");
  if (int64_t(cont.size()) >= max_len)
    fail(id, ": a choice has ", cont.size(), " tokens, which leaves no room for a context within --max-seq-len ", max_len);
  if (int64_t(ctx.size() + cont.size()) > max_len) ctx.erase(ctx.begin(), ctx.end() - (max_len - int64_t(cont.size())));
  if (ctx.empty()) fail(id, ": the context encodes to no tokens");
  McRequest r;
  r.context = std::move(ctx);
  r.continuation = std::move(cont);
  return r;
}

}  // namespace

McFormat parse_mc_format(const std::string& s) {
  if (s == "rc") return McFormat::RC;
  if (s == "mc") return McFormat::MC;
  fail("unknown multiple-choice format '", s, "' (rc or mc)");
}

std::vector<McItem> load_mc_jsonl(const std::string& path, int64_t vocab) {
  std::vector<McItem> items;
  read_jsonl(path, [&](const json& j, int64_t line) {
    McItem it = parse_row(j, vocab);
    if (it.id.empty()) it.id = str(path, ":", line);
    if (!items.empty() && items.front().tokenized() != it.tokenized())
      bad("text and pre-tokenized rows are mixed in one file");
    items.push_back(std::move(it));
  });
  if (items.empty()) fail(path, ": no items");
  return items;
}

std::string mc_prompt_text(const McItem& it, McFormat f) {
  if (it.tokenized()) fail(it.id, ": a pre-tokenized item has no prompt text");
  std::string p = it.question.empty() ? it.context : "Question: " + it.question;
  if (f == McFormat::RC) return it.question.empty() ? p : p + "\nAnswer:";
  p += "\n";
  for (size_t c = 0; c < it.choices.size(); ++c) p += str(" ", char('A' + c), ". ", it.choices[c], "\n");
  return p + "Answer:";
}

std::string mc_continuation_text(const McItem& it, McFormat f, size_t c) {
  if (f == McFormat::MC) return str(" ", char('A' + c));
  const std::string& choice = it.choices.at(c);
  const bool glue = starts_with_space(choice) || (it.question.empty() && ends_with_space(it.context));
  return glue ? choice : " " + choice;
}

std::vector<McRequest> mc_requests(const McItem& it, const std::vector<const McItem*>& shots, const Tokenizer* tok,
                                   const McPromptOptions& o) {
  std::vector<McRequest> out;
  if (it.tokenized()) {
    if (!shots.empty()) fail(it.id, ": --shots needs text items (this one is pre-tokenized)");
    for (const auto& ch : it.choice_ids) {
      McRequest r = fit(it.context_ids, ch, o.max_len, it.id);
      if (tok) {
        const std::string s = tok->decode(ch);
        r.bytes = int64_t(s.size());
        r.chars = code_points(s);
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  if (!tok) fail(it.id, ": text items need a tokenizer (the model directory has no tokenizer.json)");
  std::string prefix;
  for (const McItem* s : shots) {
    if (s->tokenized()) fail(s->id, ": a shot must be a text item");
    prefix += mc_prompt_text(*s, o.format) + mc_continuation_text(*s, o.format, size_t(s->answer)) + "\n\n";
  }
  const std::vector<int32_t> ctx = tok->encode(prefix + mc_prompt_text(it, o.format));
  for (size_t c = 0; c < it.num_choices(); ++c) {
    const std::string cont = mc_continuation_text(it, o.format, c);
    McRequest r = fit(ctx, tok->encode(cont), o.max_len, it.id);
    r.bytes = int64_t(cont.size());
    r.chars = code_points(cont);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<McRequest> mc_unconditional(const McItem& it, const Tokenizer& tok, const McPromptOptions& o) {
  const std::vector<int32_t> ctx = tok.encode("Answer:");
  std::vector<McRequest> out;
  for (size_t c = 0; c < it.num_choices(); ++c) {
    if (it.tokenized()) {
      out.push_back(fit(ctx, it.choice_ids[c], o.max_len, it.id));
    } else {
      out.push_back(fit(ctx, tok.encode(mc_continuation_text(it, o.format, c)), o.max_len, it.id));
    }
  }
  return out;
}

}  // namespace hyb
