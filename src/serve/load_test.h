// `hybrid bench serve`: a load generator for an OpenAI-compatible server (loopback only, bounded in requests and
// time). Streams /v1/completions with token-id prompts of exact lengths (the ignore_eos and return_token_ids
// extensions make output lengths exact and multi-turn prompts exact), and reports vLLM's serving metrics.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hyb::serve {

struct LoadOptions {
  std::string url = "http://127.0.0.1:8080", api_key, model;
  std::vector<int64_t> concurrency = {1, 2, 4, 8};
  int64_t requests = 16;          // conversations per concurrency level
  int64_t input_len = 128, output_len = 128;
  int64_t shared_prefix = 0;      // tokens every prompt starts with
  int64_t turns = 1;              // requests per conversation; turn k+1 = turn k's prompt + reply + followup_len new
  int64_t followup_len = -1;      // new tokens in turns after the first (-1 = input_len)
  bool chat = false;              // /v1/chat/completions with word prompts (shared prefix = the system message)
  int64_t vocab = 1000;           // prompt ids are drawn below this
  uint64_t seed = 1;
  double timeout_s = 600;         // per concurrency level
};

struct LoadResult {
  int64_t concurrency = 0, ok = 0, failed = 0;
  double seconds = 0, requests_per_s = 0, output_tokens_per_s = 0, cached_fraction = 0;
  double ttft[3] = {}, tpot[3] = {}, itl[3] = {}, e2e[3] = {};  // p50, p90, p99 in seconds
  double ttft_first_turn = 0, ttft_later_turns = 0;              // p50 of turn 1 / of turns 2+
  nlohmann::json to_json() const;
};

// Refuses non-loopback URLs. Runs every concurrency level in turn.
std::vector<LoadResult> run_load(const LoadOptions& o);

}  // namespace hyb::serve
