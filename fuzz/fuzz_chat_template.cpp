// Chat messages (as a JSON array of {role, content}) -> the chat template -> training spans -> scored tokens.
#include "core/json_parse.h"
#include "fuzz_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/utf8.h"
#include "train/posttrain_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyb;
  fuzz::expect_clean([&] {
    const auto j = parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "messages");
    if (!j.is_array()) return;
    std::vector<ChatMessage> msgs;
    auto text_of = [](const nlohmann::json& m, const char* key, const char* def) {
      return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string(def);
    };
    for (const auto& m : j) {
      if (!m.is_object()) return;
      ChatMessage c;
      c.role = text_of(m, "role", "user");
      c.content = text_of(m, "content", "");
      c.functions = text_of(m, "functions", "");
      c.function_calls = text_of(m, "function_calls", "");
      msgs.push_back(std::move(c));
    }
    ChatOptions o;
    o.add_generation_prompt = msgs.empty() || msgs.back().role != "assistant";
    std::vector<TextSpan> spans;
    const std::string text = render_chat(msgs, o, &spans);
    size_t prev = 0;
    for (const auto& s : spans) {
      fuzz::check(s.begin <= s.end && s.end <= text.size() && s.begin >= prev, "assistant span out of order or range");
      prev = s.end;
    }
    if (!spans.empty() && utf8_find_invalid(text) == std::string::npos) {
      const ScoredRow r = tokenize_chat(fuzz::small_tokenizer(), msgs, false);
      fuzz::check(r.ids.size() == r.targets.size(), "ids and targets differ in length");
      for (size_t i = 0; i + 1 < r.ids.size(); ++i)
        fuzz::check(r.targets[i] == -1 || r.targets[i] == r.ids[i + 1], "a target is not the next token");
    }
  });
  return 0;
}
