#include "serve/load_test.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include "core/error.h"

namespace hyb::serve {

namespace {
using json = nlohmann::json;
using clk = std::chrono::steady_clock;

double secs(clk::time_point a, clk::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * double(v.size() - 1);
  const size_t lo = size_t(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (idx - double(lo)) * (v[hi] - v[lo]);
}

struct Sample {
  int64_t turn = 0;
  double ttft = 0, e2e = 0;
  std::vector<double> itl;
  int64_t out = 0, prompt = 0, cached = 0;
};

// One streamed completion; false on any failure.
// One streamed request (completions with `prompt` ids, or chat with `messages`); false on any failure. The reply
// comes back as token ids (completions) or text (chat).
bool one_request(httplib::Client& cli, const LoadOptions& o, const std::vector<int32_t>& prompt,
                 const json& messages, Sample& s, std::vector<int32_t>& reply, std::string& reply_text) {
  json body = {{"max_tokens", o.output_len}, {"temperature", 0}, {"stream", true},
               {"stream_options", {{"include_usage", true}}}, {"ignore_eos", true}, {"return_token_ids", true}};
  if (o.chat) body["messages"] = messages;
  else body["prompt"] = prompt;
  if (!o.model.empty()) body["model"] = o.model;
  httplib::Request req;
  req.method = "POST";
  req.path = o.chat ? "/v1/chat/completions" : "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  if (!o.api_key.empty()) req.set_header("Authorization", "Bearer " + o.api_key);
  const auto t0 = clk::now();
  auto last = t0;
  std::string buf;
  bool ok = true, done = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buf.append(data, n);
    size_t pos;
    while ((pos = buf.find("\n\n")) != std::string::npos) {
      const std::string ev = buf.substr(0, pos);
      buf.erase(0, pos + 2);
      if (ev.rfind("data: ", 0) != 0) continue;  // comments (": ping")
      const std::string d = ev.substr(6);
      if (d == "[DONE]") {
        done = true;
        continue;
      }
      const json j = json::parse(d, nullptr, false);
      if (j.is_discarded()) { ok = false; return false; }
      if (j.contains("usage") && j["usage"].is_object()) {
        s.prompt = j["usage"].value("prompt_tokens", 0);
        s.out = j["usage"].value("completion_tokens", 0);
        s.cached = j["usage"]["prompt_tokens_details"].value("cached_tokens", 0);
      }
      if (!j.contains("choices") || j["choices"].empty()) continue;
      const json& c = j["choices"][0];
      if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string())
        reply_text += c["delta"]["content"].get<std::string>();
      if (c.contains("token_ids") && !c["token_ids"].empty()) {
        const auto now = clk::now();
        if (reply.empty()) s.ttft = secs(t0, now);
        else s.itl.push_back(secs(last, now));
        last = now;
        for (auto& id : c["token_ids"]) reply.push_back(id.get<int32_t>());
      }
    }
    return true;
  };
  auto res = cli.send(req);
  s.e2e = secs(t0, clk::now());
  return ok && done && res && res->status == 200;
}

// Chat prompts: one word per drawn id, from a fixed list (about one token each in BPE vocabularies).
std::string words(const std::vector<int32_t>& ids) {
  static const char* w[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                            "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
                            "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"};
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += std::string(i ? " " : "") + w[uint32_t(ids[i]) % 26];
  return s;
}

void parse_url(const std::string& url, std::string& host, int& port) {
  static const std::regex re(R"(^http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\]):([0-9]+)/?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re))
    fail("bench serve: --url must be http://127.x.x.x:PORT, http://localhost:PORT or http://[::1]:PORT (loopback "
         "only), got '", url, "'");
  host = m[1].str();
  if (host == "[::1]") host = "::1";
  port = std::stoi(m[2].str());
}
}  // namespace

json LoadResult::to_json() const {
  auto p = [](const double* v) { return json{{"p50", v[0]}, {"p90", v[1]}, {"p99", v[2]}}; };
  return {{"concurrency", concurrency}, {"ok", ok}, {"failed", failed}, {"seconds", seconds},
          {"requests_per_s", requests_per_s}, {"output_tokens_per_s", output_tokens_per_s},
          {"cached_fraction", cached_fraction}, {"ttft_s", p(ttft)}, {"tpot_s", p(tpot)}, {"itl_s", p(itl)},
          {"e2e_s", p(e2e)}, {"ttft_first_turn_p50_s", ttft_first_turn}, {"ttft_later_turns_p50_s", ttft_later_turns}};
}

std::vector<LoadResult> run_load(const LoadOptions& o) {
  std::string host;
  int port = 0;
  parse_url(o.url, host, port);
  if (o.requests <= 0 || o.turns <= 0 || o.input_len <= 0 || o.output_len <= 0)
    fail("bench serve: --requests, --turns, --input-len and --output-len must be positive");
  std::vector<LoadResult> out;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> tok(0, int32_t(o.vocab - 1));
  std::vector<int32_t> prefix(size_t(o.shared_prefix));
  for (auto& t : prefix) t = tok(rng);
  for (int64_t C : o.concurrency) {
    std::atomic<int64_t> next{0};
    std::mutex m;
    std::vector<Sample> samples;
    int64_t failed = 0;
    const auto t0 = clk::now();
    const auto deadline = t0 + std::chrono::duration<double>(o.timeout_s);
    std::vector<std::thread> th;
    for (int64_t w = 0; w < C; ++w)
      th.emplace_back([&, w] {
        httplib::Client cli(host, port);
        cli.set_read_timeout(std::chrono::seconds(int64_t(o.timeout_s)));
        std::mt19937_64 r(o.seed * 1000003 + uint64_t(C) * 101 + uint64_t(w));
        for (int64_t i; (i = next++) < o.requests && clk::now() < deadline;) {
          std::vector<int32_t> prompt = prefix;
          json messages = json::array();
          if (o.chat && o.shared_prefix > 0) messages.push_back({{"role", "system"}, {"content", words(prefix)}});
          for (int64_t turn = 0; turn < o.turns; ++turn) {
            const int64_t n = turn == 0 || o.followup_len < 0 ? o.input_len : o.followup_len;
            std::vector<int32_t> fresh;
            for (int64_t k = 0; k < n; ++k) fresh.push_back(tok(r));
            prompt.insert(prompt.end(), fresh.begin(), fresh.end());
            if (o.chat) messages.push_back({{"role", "user"}, {"content", words(fresh)}});
            Sample s;
            s.turn = turn;
            std::vector<int32_t> reply;
            std::string reply_text;
            const bool ok = one_request(cli, o, prompt, messages, s, reply, reply_text);
            std::lock_guard<std::mutex> g(m);
            if (!ok) { ++failed; break; }
            samples.push_back(std::move(s));
            prompt.insert(prompt.end(), reply.begin(), reply.end());
            if (o.chat) messages.push_back({{"role", "assistant"}, {"content", reply_text}});
          }
        }
      });
    for (auto& t : th) t.join();
    LoadResult r;
    r.concurrency = C;
    r.seconds = secs(t0, clk::now());
    r.ok = int64_t(samples.size());
    r.failed = failed;
    std::vector<double> ttft, tpot, itl, e2e, ttft1, ttft2;
    int64_t out_tok = 0, prompt_tok = 0, cached = 0;
    for (auto& s : samples) {
      ttft.push_back(s.ttft);
      (s.turn == 0 ? ttft1 : ttft2).push_back(s.ttft);
      e2e.push_back(s.e2e);
      if (s.out > 1) tpot.push_back((s.e2e - s.ttft) / double(s.out - 1));
      itl.insert(itl.end(), s.itl.begin(), s.itl.end());
      out_tok += s.out;
      prompt_tok += s.prompt;
      cached += s.cached;
    }
    r.requests_per_s = double(r.ok) / r.seconds;
    r.output_tokens_per_s = double(out_tok) / r.seconds;
    r.cached_fraction = prompt_tok ? double(cached) / double(prompt_tok) : 0;
    const double ps[3] = {0.5, 0.9, 0.99};
    for (int k = 0; k < 3; ++k) {
      r.ttft[k] = pct(ttft, ps[k]);
      r.tpot[k] = pct(tpot, ps[k]);
      r.itl[k] = pct(itl, ps[k]);
      r.e2e[k] = pct(e2e, ps[k]);
    }
    r.ttft_first_turn = pct(ttft1, 0.5);
    r.ttft_later_turns = pct(ttft2, 0.5);
    out.push_back(r);
  }
  return out;
}

}  // namespace hyb::serve
