#include "serve/request.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_parse.h"
#include "serve/api_error.h"
#include "serve/tool_calls.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/utf8.h"

namespace hyb::serve {

namespace {
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

ApiError bad(const std::string& param, const std::string& msg) { return ApiError(400, msg, param); }

double number(const json& b, const char* f, double lo, double hi, double def) {
  if (!b.contains(f) || b[f].is_null()) return def;
  if (!b[f].is_number()) throw bad(f, std::string("'") + f + "' must be a number");
  const double v = b[f].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw bad(f, std::string("'") + f + "' must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

int64_t integer(const json& b, const char* f, int64_t lo, int64_t hi, int64_t def) {
  if (!b.contains(f) || b[f].is_null()) return def;
  if (!b[f].is_number_integer()) throw bad(f, std::string("'") + f + "' must be an integer");
  const int64_t v = b[f].is_number_unsigned() && b[f].get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : b[f].get<int64_t>();
  if (v < lo || v > hi)
    throw bad(f, std::string("'") + f + "' must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

bool boolean(const json& b, const char* f, bool def) {
  if (!b.contains(f) || b[f].is_null()) return def;
  if (!b[f].is_boolean()) throw bad(f, std::string("'") + f + "' must be a boolean");
  return b[f].get<bool>();
}

std::string text_field(const json& v, const std::string& param) {
  if (!v.is_string()) throw bad(param, "'" + param + "' must be a string");
  std::string s = v.get<std::string>();
  if (utf8_find_invalid(s) != std::string::npos) throw bad(param, "'" + param + "' is not valid UTF-8");
  return s;
}

// An object whose "type" is the string t. json::value("type", "") would throw (a 500) when "type" is present
// with another JSON type, e.g. an object.
bool typed(const json& o, const char* t) {
  return o.is_object() && o.contains("type") && o["type"].is_string() && o["type"].get_ref<const std::string&>() == t;
}

// Fields shared by both endpoints.
void common(const json& b, const ParseContext& ctx, GenRequest& r) {
  if (!b.is_object()) throw bad("", "the request body must be a JSON object");
  if (b.contains("model") && !b["model"].is_null()) {
    r.model = text_field(b["model"], "model");
    if (r.model != ctx.model_name)
      throw ApiError(404, "The model '" + r.model + "' does not exist (this server has '" + ctx.model_name + "')",
                     "model", "model_not_found");
  }
  r.sampling.temperature = float(number(b, "temperature", 0, 2, 1.0));
  r.sampling.top_p = float(number(b, "top_p", 0, 1, 1.0));
  if (b.contains("top_p") && b["top_p"].is_number() && r.sampling.top_p <= 0.f) throw bad("top_p", "'top_p' must be > 0");
  r.sampling.top_k = int(integer(b, "top_k", 0, 1 << 20, 0));
  r.sampling.min_p = float(number(b, "min_p", 0, 1, 0.0));
  r.sampling.seed = uint64_t(integer(b, "seed", INT64_MIN, INT64_MAX, 0));
  r.presence_penalty = float(number(b, "presence_penalty", -2, 2, 0));
  r.frequency_penalty = float(number(b, "frequency_penalty", -2, 2, 0));
  const int64_t n = integer(b, "n", 1, 128, 1);
  if (n != 1) throw bad("n", "only n = 1 is supported");
  r.stream = boolean(b, "stream", false);
  if (b.contains("stream_options") && !b["stream_options"].is_null()) {
    const json& so = b["stream_options"];
    if (!so.is_object()) throw bad("stream_options", "'stream_options' must be an object");
    if (!r.stream) throw bad("stream_options", "'stream_options' is only allowed when 'stream' is true");
    r.include_usage = boolean(so, "include_usage", false);
  }
  if (b.contains("stop") && !b["stop"].is_null()) {
    const json& s = b["stop"];
    if (s.is_string()) r.stop.push_back(text_field(s, "stop"));
    else if (s.is_array()) {
      if (s.size() > 4) throw bad("stop", "'stop' takes at most 4 sequences");
      for (const json& x : s) r.stop.push_back(text_field(x, "stop"));
    } else {
      throw bad("stop", "'stop' must be a string or an array of strings");
    }
    for (const auto& x : r.stop)
      if (x.empty()) throw bad("stop", "'stop' sequences must not be empty");
  }
  // Accepted and ignored, these would be silently wrong; refused by name instead.
  if (b.contains("response_format") && !b["response_format"].is_null()) {
    const json& f = b["response_format"];
    if (!typed(f, "text"))
      throw bad("response_format", "only 'response_format' {\"type\": \"text\"} is supported (no constrained JSON output)");
  }
  if (b.contains("functions") && !b["functions"].is_null())
    throw bad("functions", "'functions' (the legacy form) is not supported; send 'tools'");
  if (integer(b, "best_of", 1, 128, 1) != 1) throw bad("best_of", "only best_of = 1 is supported");
  if (b.contains("suffix") && !b["suffix"].is_null() && !(b["suffix"].is_string() && b["suffix"].get_ref<const std::string&>().empty()))
    throw bad("suffix", "'suffix' (insertion) is not supported");
  if (b.contains("logit_bias") && !b["logit_bias"].is_null()) {
    const json& lb = b["logit_bias"];
    if (!lb.is_object()) throw bad("logit_bias", "'logit_bias' must be an object of token id -> bias");
    if (lb.size() > 1024) throw bad("logit_bias", "'logit_bias' takes at most 1024 tokens");
    for (auto it = lb.begin(); it != lb.end(); ++it) {
      const std::string& key = it.key();
      int64_t id = -1;
      if (!key.empty() && key.size() <= 10 && key.find_first_not_of("0123456789") == std::string::npos) id = std::stoll(key);
      if (id < 0 || id >= ctx.vocab_size)
        throw bad("logit_bias", "'logit_bias' key '" + key + "' is not a token id in [0, " + std::to_string(ctx.vocab_size) + ")");
      if (!it.value().is_number() || !(it.value().get<double>() >= -100 && it.value().get<double>() <= 100))
        throw bad("logit_bias", "'logit_bias' values must be numbers in [-100, 100]");
      r.logit_bias.emplace_back(int32_t(id), it.value().get<float>());
    }
  }
  r.ignore_eos = boolean(b, "ignore_eos", false);
  r.return_token_ids = boolean(b, "return_token_ids", false);
  // Both names of the output limit; max_completion_tokens wins when both are given.
  r.max_tokens = integer(b, "max_tokens", 1, INT64_MAX, -1);
  const int64_t mct = integer(b, "max_completion_tokens", 1, INT64_MAX, -1);
  if (mct > 0) r.max_tokens = mct;
}

void check_prompt(GenRequest& r, const ParseContext& ctx) {
  if (r.prompt.empty()) throw bad(r.chat ? "messages" : "prompt", "the prompt is empty");
  const int64_t P = int64_t(r.prompt.size());
  if (P >= ctx.max_context)
    throw ApiError(400,
                   "This model's maximum context length is " + std::to_string(ctx.max_context) +
                       " tokens, but the prompt has " + std::to_string(P) + " tokens",
                   r.chat ? "messages" : "prompt", "context_length_exceeded");
}
}  // namespace

json parse_body(const std::string& body) {
  // Absurd nesting is refused before a tree is built (no request needs more than a few levels).
  try {
    return parse_json(body, "request body", 64);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
}

TokenizeRequest parse_tokenize_request(const json& b) {
  if (!b.is_object()) throw bad("", "the request body must be a JSON object");
  if (!b.contains("content")) throw bad("content", "'content' must be a string");
  TokenizeRequest r;
  r.text = text_field(b["content"], "content");
  r.special = boolean(b, "add_special", false) || boolean(b, "parse_special", false);
  return r;
}

std::vector<int32_t> parse_detokenize_request(const json& b, const Tokenizer& tok) {
  if (!b.is_object() || !b.contains("tokens") || !b["tokens"].is_array())
    throw bad("tokens", "'tokens' must be an array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(b["tokens"].size());
  for (const json& t : b["tokens"]) {
    if (!t.is_number_integer() || (t.is_number_unsigned() && t.get<uint64_t>() > uint64_t(INT32_MAX)) ||
        t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX || !tok.has_id(int32_t(t.get<int64_t>())))
      throw bad("tokens", "'tokens' holds an id that is not in the vocabulary");
    ids.push_back(int32_t(t.get<int64_t>()));
  }
  return ids;
}

GenRequest parse_chat_request(const json& b, const ParseContext& ctx, std::string_view raw_body) {
  GenRequest r;
  r.chat = true;
  common(b, ctx, r);
  // Tools and calls go into the prompt as JSON in the client's key order (the template's tojson keeps it), so they
  // are read from the body again, order-preserving; without the raw body the keys come sorted.
  std::optional<ojson> ordered_body;
  auto ordered = [&]() -> const ojson& {
    if (!ordered_body) {
      ordered_body = raw_body.empty() ? ojson::parse(b.dump()) : ojson::parse(raw_body, nullptr, false);
      if (ordered_body->is_discarded()) ordered_body = ojson::parse(b.dump());
    }
    return *ordered_body;
  };
  std::string tools_json;
  std::string choice = "auto";
  if (b.contains("tool_choice") && !b["tool_choice"].is_null()) {
    if (!b["tool_choice"].is_string() || (b["tool_choice"] != "none" && b["tool_choice"] != "auto"))
      throw bad("tool_choice", "'tool_choice' can be \"auto\" or \"none\" (\"required\" and named functions need "
                               "constrained decoding, which this server does not do)");
    choice = b["tool_choice"].get<std::string>();
  }
  if (b.contains("tools") && !b["tools"].is_null()) {
    const json& t = b["tools"];
    if (!t.is_array()) throw bad("tools", "'tools' must be an array");
    for (size_t i = 0; i < t.size(); ++i) {
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!typed(t[i], "function") || !t[i].contains("function") ||
          !t[i]["function"].is_object())
        throw bad(p, "'" + p + "' must be {\"type\": \"function\", \"function\": {...}}");
      const json& f = t[i]["function"];
      if (!f.contains("name") || !f["name"].is_string() || f["name"].get_ref<const std::string&>().empty())
        throw bad(p + ".function.name", "'" + p + ".function.name' must be a non-empty string");
      r.tool_names.push_back(text_field(f["name"], p + ".function.name"));
    }
    if (!t.empty() && choice == "auto") {
      tools_json = python_json(ordered()["tools"]);
      r.tools = true;
    }
  }
  if (!ctx.tok) throw ApiError(400, "this model has no tokenizer; use /v1/completions with token ids", "messages");
  if (!b.contains("messages") || !b["messages"].is_array() || b["messages"].empty())
    throw bad("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> msgs;
  for (size_t i = 0; i < b["messages"].size(); ++i) {
    const json& m = b["messages"][i];
    const std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(p, "'" + p + "' must be an object");
    if (!m.contains("role")) throw bad(p + ".role", "'" + p + ".role' is required");
    std::string role = text_field(m["role"], p + ".role");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw bad(p + ".role", "'" + p + ".role' must be system, user, assistant or tool, got '" + role + "'");
    std::string calls;
    if (role == "assistant" && m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      try {
        calls = render_tool_calls(ordered()["messages"][i]["tool_calls"], p + ".tool_calls");
      } catch (const Error& e) {
        throw bad(p + ".tool_calls", e.what());
      }
    }
    std::string content;
    if (!m.contains("content") || m["content"].is_null()) {
      if (role != "assistant") throw bad(p + ".content", "'" + p + ".content' is required");
    } else if (m["content"].is_string()) {
      content = text_field(m["content"], p + ".content");
    } else if (m["content"].is_array()) {
      for (const json& part : m["content"]) {
        if (!typed(part, "text") || !part.contains("text"))
          throw bad(p + ".content", "only text content parts are supported");
        content += text_field(part["text"], p + ".content");
      }
    } else {
      throw bad(p + ".content", "'" + p + ".content' must be a string or an array of text parts");
    }
    msgs.push_back({role == "tool" ? "environment" : role, content, "", calls});
  }
  r.logprobs = boolean(b, "logprobs", false);
  r.top_logprobs = int(integer(b, "top_logprobs", 0, 20, 0));
  if (r.top_logprobs > 0 && !r.logprobs) throw bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  ChatOptions co;
  co.eos_token = ctx.eos_token;
  co.tools_json = tools_json;
  r.prompt = ctx.tok->encode_with_special(render_chat(msgs, co));
  // Turn boundaries: the token length of each prefix of the conversation, kept when it is an exact prefix of the
  // whole prompt (turns start with a special token, so it is). A shared system prompt or earlier turns then get
  // their own snapshots. Bounded: conversations of more than 64 messages only mark their last 64 turns.
  {
    ChatOptions pre = co;
    pre.add_generation_prompt = false;
    const size_t first = msgs.size() > 64 ? msgs.size() - 64 : 1;
    for (size_t i = first; i < msgs.size(); ++i) {
      const std::vector<ChatMessage> head(msgs.begin(), msgs.begin() + long(i));
      const auto ids = ctx.tok->encode_with_special(render_chat(head, pre));
      if (!ids.empty() && ids.size() < r.prompt.size() && std::equal(ids.begin(), ids.end(), r.prompt.begin()))
        r.boundaries.push_back(int64_t(ids.size()));
    }
  }
  for (int32_t id : r.prompt)
    if (id >= ctx.vocab_size) throw ApiError(400, "the tokenizer produced an id outside the model's vocabulary", "messages");
  check_prompt(r, ctx);
  return r;
}

GenRequest parse_completion_request(const json& b, const ParseContext& ctx) {
  GenRequest r;
  common(b, ctx, r);
  if (!b.contains("prompt")) throw bad("prompt", "'prompt' is required");
  const json& p = b["prompt"];
  const json* one = &p;
  if (p.is_array() && !p.empty() && (p[0].is_string() || p[0].is_array())) {
    if (p.size() != 1) throw bad("prompt", "only one prompt per request is supported");
    one = &p[0];
  }
  if (one->is_string()) {
    if (!ctx.tok) throw ApiError(400, "this model has no tokenizer; send 'prompt' as token ids", "prompt");
    r.prompt = ctx.tok->encode(text_field(*one, "prompt"));
  } else if (one->is_array()) {
    for (const json& t : *one) {
      if (!t.is_number_integer()) throw bad("prompt", "'prompt' token ids must be integers");
      const int64_t id = t.get<int64_t>();
      if (id < 0 || id >= ctx.vocab_size)
        throw bad("prompt", "token id " + std::to_string(id) + " is outside [0, " + std::to_string(ctx.vocab_size) + ")");
      r.prompt.push_back(int32_t(id));
    }
    r.echo_ids = true;
  } else {
    throw bad("prompt", "'prompt' must be a string or an array of token ids");
  }
  if (b.contains("logprobs") && !b["logprobs"].is_null()) {
    const int64_t lp = integer(b, "logprobs", 0, 20, 0);
    r.logprobs = true;
    r.top_logprobs = int(lp);
  }
  if (b.contains("echo") && boolean(b, "echo", false)) throw bad("echo", "'echo' is not supported");
  if (r.max_tokens < 0 && !b.contains("max_tokens")) r.max_tokens = 16;  // the completions API's default
  check_prompt(r, ctx);
  return r;
}

}  // namespace hyb::serve
