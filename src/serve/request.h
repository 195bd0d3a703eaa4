// OpenAI request bodies → a validated generation request. Every field is type- and range-checked here; what
// fails becomes an ApiError naming the field (param), so the scheduler only ever sees valid requests.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/sampler.h"
#include "tokenizer/tokenizer.h"

namespace hyb::serve {

struct GenRequest {
  bool chat = false;
  std::string model;
  std::vector<int32_t> prompt;
  std::vector<int64_t> boundaries;    // chat: prompt positions where a turn ends (prefix-cache snapshot points)
  int64_t max_tokens = -1;            // -1: until the context is full
  SamplerOptions sampling;
  float presence_penalty = 0.f, frequency_penalty = 0.f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to these tokens' logits before sampling
  std::vector<std::string> stop;      // stop strings (not included in the output)
  bool stream = false, include_usage = false;
  bool logprobs = false;
  int top_logprobs = 0;
  bool echo_ids = false;              // completions with a token-id prompt
  // Extensions (as in vLLM / llama-server): keep generating past end-of-sequence tokens (load tests), and return
  // the generated token ids (exact multi-turn prompts for clients that work in ids).
  bool ignore_eos = false, return_token_ids = false;
  // Chat with tools (tool_choice "auto"): the tools are in the prompt and calls in the answer become tool_calls.
  bool tools = false;
  std::vector<std::string> tool_names;
};

struct ParseContext {
  const Tokenizer* tok = nullptr;     // null: text prompts are refused
  std::string model_name;             // the one model served
  int64_t vocab_size = 0;
  int64_t max_context = 0;
  std::string eos_token = "<|endoftext|>";
};

// Throws ApiError (400 for bad fields, 404 for an unknown model, context_length_exceeded for long prompts).
// raw_body (optional): the same body as text, read again to keep the key order of tools and tool calls.
GenRequest parse_chat_request(const nlohmann::json& body, const ParseContext& ctx, std::string_view raw_body = {});
GenRequest parse_completion_request(const nlohmann::json& body, const ParseContext& ctx);
// POST /tokenize: {"content": text, "add_special" | "parse_special": bool} (llama-server's names).
struct TokenizeRequest {
  std::string text;
  bool special = false;  // match added tokens such as <|im_start|>
};
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);
// POST /detokenize: {"tokens": [ids]}, every id checked against the tokenizer.
std::vector<int32_t> parse_detokenize_request(const nlohmann::json& body, const Tokenizer& tok);
// The body as JSON, or ApiError 400 naming the parse error.
nlohmann::json parse_body(const std::string& body);

}  // namespace hyb::serve
