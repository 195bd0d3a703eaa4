// Chat template of the OLMo 3 / Hybrid Instruct models (spec section 6.2), rendered directly in C++ so generation
// and the server need no Jinja engine. kChatTemplateJinja is the same template as Jinja source, written into
// tokenizer_config.json for HF-compatible tools; tests check that both render identically.
#pragma once
#include <string>
#include <vector>

namespace hyb {

struct ChatMessage {
  std::string role;            // system, user, assistant, environment (tool is rendered as environment)
  std::string content;
  std::string functions = {};       // system: function signatures as text (optional)
  std::string function_calls = {};  // assistant: calls as text (optional)
};

struct ChatOptions {
  bool add_generation_prompt = true;
  std::string tools_json;               // structured tools, already serialised as JSON (optional)
  std::string eos_token = "<|endoftext|>";  // ends the conversation's last assistant turn
};

// A byte range [begin, end) of the rendered text.
struct TextSpan {
  size_t begin = 0, end = 0;
};

// `assistant_spans`, when given, receives one span per assistant message: its content (and function calls) and the
// end token that closes it (`<|im_end|>` or, on the last message, eos_token) — not the newline after `<|im_end|>`.
// These are the tokens SFT trains on.
std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& options = {},
                        std::vector<TextSpan>* assistant_spans = nullptr);

extern const char* const kChatTemplateJinja;

}  // namespace hyb
