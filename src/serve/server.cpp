#include "serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/threads.h"
#include "model/model.h"
#include "serve/api_error.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "tokenizer/utf8.h"
#include "serve/scheduler.h"
#include "serve/tool_calls.h"

namespace hyb::serve {

namespace {
using json = nlohmann::json;

std::atomic<int> g_signal{0};
void on_signal(int s) { g_signal = s; }

// What the HTTP handlers share; `ready` flips once the model is loaded (GET /health: 503 before).
struct App {
  ServeOptions opt;
  std::atomic<bool> ready{false};
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tok;
  std::unique_ptr<Scheduler> sched;
  Metrics metrics;
  ParseContext pctx;
  std::atomic<uint64_t> next_id{1};
  int64_t created = 0;
};

// Any text a response carries is made valid UTF-8 on the way out: a parse error quotes the bytes it stopped at,
// which may be the very bytes that were invalid, and an exception from dump() would turn a 400 into a 500.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.status == 429) res.set_header("Retry-After", "1");
  send_json(res, e.status, e.body());
}

json usage_json(const RequestState& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

std::string token_str(const App& a, int32_t id) {
  if (!a.tok || !a.tok->has_id(id)) return "";
  return a.tok->decode(std::span<const int32_t>(&id, 1));
}

json logprob_entry(const App& a, const TokenOut& t) {
  json top = json::array();
  for (auto& [id, lp] : t.top) top.push_back({{"token", token_str(a, id)}, {"logprob", lp}});
  return {{"token", token_str(a, t.id)}, {"logprob", t.logprob}, {"top_logprobs", top}};
}

// Takes every produced token (blocking up to `wait`); true when the request is done and nothing is left.
bool drain(RequestState& r, std::vector<TokenOut>& got, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lk(r.m);
  r.cv.wait_for(lk, wait, [&] { return r.done || !r.out.empty(); });
  while (!r.out.empty()) {
    got.push_back(std::move(r.out.front()));
    r.out.pop_front();
  }
  return r.done;
}

std::shared_ptr<RequestState> start(App& a, GenRequest q, bool chat) {
  auto r = std::make_shared<RequestState>(std::move(q));
  r->id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(a.next_id++);
  r->t_arrival = Scheduler::now();
  if (!a.sched->submit(r))
    throw ApiError(429, "the server is busy (queue full); retry later", "", "rate_limit_exceeded",
                   "rate_limit_error");
  return r;
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(uint8_t(c)); });
}

// OpenAI's tool_calls array; with `index` for stream deltas.
json tool_calls_json(const RequestState& r, const std::vector<ToolCall>& calls, bool with_index = false) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", "call_" + r.id + "_" + std::to_string(i)},
              {"type", "function"},
              {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) c["index"] = i;
    out.push_back(std::move(c));
  }
  return out;
}

// The whole response of a non-streamed request.
json complete_body(const App& a, const RequestState& r, const std::vector<TokenOut>& got, bool chat, bool logprobs,
                   bool want_ids) {
  std::string text;
  json lps = json::array(), token_ids = json::array();
  for (auto& t : got) {
    text += t.text;
    if (t.id >= 0) token_ids.push_back(t.id);
    if (logprobs && t.id >= 0) lps.push_back(logprob_entry(a, t));
  }
  json choice = {{"index", 0}, {"finish_reason", r.finish_reason}};
  if (want_ids) choice["token_ids"] = token_ids;
  if (chat) {
    const auto calls = r.req.tools && r.finish_reason != "cancelled" ? parse_tool_calls(text, r.req.tool_names)
                                                                     : std::nullopt;
    if (calls) {
      choice["message"] = {{"role", "assistant"},
                           {"content", blank(calls->content) ? json(nullptr) : json(calls->content)},
                           {"tool_calls", tool_calls_json(r, calls->calls)}};
      choice["finish_reason"] = "tool_calls";
    } else {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
    }
    choice["logprobs"] = logprobs ? json{{"content", lps}} : json(nullptr);
  } else {
    choice["text"] = text;
    json tl = json::array();
    json tops = json::array();
    for (auto& e : lps) {
      tl.push_back(e["logprob"]);
      json m = json::object();
      for (auto& t : e["top_logprobs"]) m[t["token"].get<std::string>()] = t["logprob"];
      tops.push_back(m);
    }
    choice["logprobs"] = logprobs ? json{{"token_logprobs", tl}, {"top_logprobs", tops}} : json(nullptr);
  }
  return {{"id", r.id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", a.created},
          {"model", a.opt.model_name}, {"choices", json::array({choice})}, {"usage", usage_json(r)}};
}

void handle_generate(App& a, const httplib::Request& req, httplib::Response& res, bool chat) {
  const json body = parse_body(req.body);
  GenRequest q = chat ? parse_chat_request(body, a.pctx, req.body) : parse_completion_request(body, a.pctx);
  const bool stream = q.stream, include_usage = q.include_usage, logprobs = q.logprobs, want_ids = q.return_token_ids;
  auto r = start(a, std::move(q), chat);
  const std::string model = a.opt.model_name;

  if (!stream) {
    // One JSON body, sent when the request is done. Until then a newline goes out every second (JSON allows
    // whitespace before a value): writing is the only way this HTTP library shows that a client has gone, and a
    // client that gave up must free its slot now, not after max_tokens more tokens.
    auto got = std::make_shared<std::vector<TokenOut>>();
    auto finished = std::make_shared<bool>(false);
    res.set_chunked_content_provider(
        "application/json",
        [=, &a](size_t, httplib::DataSink& sink) {
          const auto beat = std::chrono::steady_clock::now() + std::chrono::seconds(1);
          bool done = false;
          while (!(done = drain(*r, *got, std::chrono::milliseconds(100))) && std::chrono::steady_clock::now() < beat) {}
          if (!done) {
            if (sink.write("\n", 1)) return true;
            r->cancelled = true;
            return false;
          }
          const std::string body = dump(complete_body(a, *r, *got, chat, logprobs, want_ids));
          if (!sink.write(body.data(), body.size())) return false;
          *finished = true;
          sink.done();
          a.metrics.count_request(200);
          return true;
        },
        [=](bool success) {
          if (!success || !*finished) r->cancelled = true;
        });
    return;
  }

  // Server-sent events: role delta first (chat), content deltas, the finish chunk, usage (if asked), [DONE].
  const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
  auto chunk = [=, &a](const json& choice_or_null, const json* usage) {
    json j = {{"id", r->id}, {"object", chunk_object}, {"created", a.created}, {"model", model}};
    j["choices"] = choice_or_null.is_null() ? json::array() : json::array({choice_or_null});
    if (usage) j["usage"] = *usage;
    return "data: " + dump(j) + "\n\n";
  };
  res.set_header("Cache-Control", "no-cache");
  auto sent_role = std::make_shared<bool>(false);
  auto finished = std::make_shared<bool>(false);
  auto calls = std::make_shared<CallStreamHold>();
  const bool tools = chat && r->req.tools;
  res.set_chunked_content_provider(
      "text/event-stream",
      [=, &a](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
          if (!sink.write(s.data(), s.size())) {
            r->cancelled = true;
            return false;
          }
          return true;
        };
        if (chat && !*sent_role) {
          *sent_role = true;
          if (!write(chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                            {"logprobs", nullptr}, {"finish_reason", nullptr}},
                           nullptr)))
            return false;
        }
        std::vector<TokenOut> got;
        const bool done = drain(*r, got, std::chrono::milliseconds(2000));
        if (got.empty() && !done) return write(": ping\n\n");  // keeps the connection alive in long prefills
        for (auto& t : got) {
          if (tools) t.text = calls->push(t.text);
          if (t.text.empty() && !((logprobs || want_ids) && t.id >= 0)) continue;
          json c = {{"index", 0}, {"finish_reason", nullptr}};
          if (want_ids) c["token_ids"] = t.id >= 0 ? json::array({t.id}) : json::array();
          if (chat) {
            c["delta"] = {{"content", t.text}};
            c["logprobs"] = logprobs && t.id >= 0 ? json{{"content", json::array({logprob_entry(a, t)})}} : json(nullptr);
          } else {
            c["text"] = t.text;
            c["logprobs"] = nullptr;
          }
          if (!write(chunk(c, nullptr))) return false;
        }
        if (!done) return true;
        std::string finish_reason = r->finish_reason;
        if (tools && !calls->pending.empty()) {
          // The held text: a <function_calls> block that parses becomes one delta with every call; else content.
          json c = {{"index", 0}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
          const auto parsed = calls->in_calls && finish_reason != "cancelled"
                                  ? parse_tool_calls(calls->pending, r->req.tool_names)
                                  : std::nullopt;
          if (parsed) {
            c["delta"] = {{"tool_calls", tool_calls_json(*r, parsed->calls, true)}};
            finish_reason = "tool_calls";
          } else {
            c["delta"] = {{"content", calls->pending}};
          }
          if (!write(chunk(c, nullptr))) return false;
        }
        json fin = {{"index", 0}, {"finish_reason", finish_reason}};
        if (chat) fin["delta"] = json::object();
        else fin["text"] = "";
        if (!write(chunk(fin, nullptr))) return false;
        if (include_usage) {
          const json u = usage_json(*r);
          if (!write(chunk(nullptr, &u))) return false;
        }
        if (!write("data: [DONE]\n\n")) return false;
        *finished = true;
        sink.done();
        return true;
      },
      [=, &a](bool success) {
        if (!success || !*finished) r->cancelled = true;  // the client went away: free the slot now
        a.metrics.count_request(200);
      });
}

template <class F>
void guarded(App& a, httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    a.metrics.count_request(e.status);
    send_error(res, e);
  } catch (const Error& e) {
    a.metrics.count_request(400);
    send_error(res, ApiError(400, e.what()));
  } catch (const std::exception& e) {
    a.metrics.count_request(500);
    send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "", "", "server_error"));
  }
}

}  // namespace

int run_server(const ServeOptions& o) {
  App a;
  a.opt = o;
  if (a.opt.model_name.empty())
    a.opt.model_name = std::filesystem::path(o.model_dir).lexically_normal().filename().string();
  if (a.opt.model_name.empty()) a.opt.model_name = "model";
  a.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  constexpr size_t kMaxBodyBytes = size_t(8) << 20;
  httplib::Server svr;
  svr.new_task_queue = [n = o.http_threads] { return new httplib::ThreadPool(size_t(n)); };
  svr.set_payload_max_length(kMaxBodyBytes);
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);
  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    // A declared body over the limit is answered now, from the header: cpp-httplib's own 413 comes only after it
    // has read and discarded the body, which holds a worker for the whole read timeout on a 10 GB claim.
    if (req.has_header("Content-Length")) {
      const std::string v = req.get_header_value("Content-Length");
      if (v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos || std::stoull(v) > kMaxBodyBytes) {
        a.metrics.count_request(413);
        send_error(res, ApiError(413, "request body too large (limit 8 MiB)"));
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // Every body here is JSON whatever its Content-Type says, and `curl -d` says form data: the cpp-httplib that
    // Debian ships parses a form body itself and refuses one over 8 KiB (a 413 for a long prompt), with the limit
    // compiled into the library. Relabelled before the body is read, a form body reaches our JSON parser instead.
    if (req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
      auto& headers = const_cast<httplib::Request&>(req).headers;  // the library's own non-const Request
      headers.erase("Content-Type");
      headers.emplace("Content-Type", "application/json");
    }
    if (!a.opt.api_key.empty()) {
      const std::string want = "Bearer " + a.opt.api_key;
      if (req.get_header_value("Authorization") != want) {
        a.metrics.count_request(401);
        send_error(res, ApiError(401, "Incorrect or missing API key (send 'Authorization: Bearer KEY')", "",
                                 "invalid_api_key"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!a.ready && req.path != "/metrics") {
      send_error(res, ApiError(503, "the model is still loading", "", "model_loading", "server_error"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      a.metrics.count_request(404);
      send_error(res, ApiError(404, "no route " + req.method + " " + req.path, "", "not_found"));
    } else if (res.status == 413) {
      send_error(res, ApiError(413, "request body too large (limit 8 MiB)"));
    } else if (res.body.empty()) {
      send_error(res, ApiError(res.status, "bad request"));
    }
  });
  svr.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    if (a.ready) send_json(res, 200, {{"status", "ok"}});
    else send_json(res, 503, {{"status", "loading"}});
  });
  svr.Get("/v1/models", [&](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"},
                         {"data", json::array({{{"id", a.opt.model_name}, {"object", "model"}, {"created", a.created},
                                                {"owned_by", "hybrid.cpp"}}})}});
  });
  svr.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(a, res, [&] { handle_generate(a, req, res, true); });
  });
  svr.Post("/v1/completions", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(a, res, [&] { handle_generate(a, req, res, false); });
  });
  svr.Post("/tokenize", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(a, res, [&] {
      const TokenizeRequest t = parse_tokenize_request(parse_body(req.body));
      if (!a.tok) throw ApiError(400, "this model has no tokenizer");
      send_json(res, 200, {{"tokens", t.special ? a.tok->encode_with_special(t.text) : a.tok->encode(t.text)}});
    });
  });
  svr.Post("/detokenize", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(a, res, [&] {
      const json b = parse_body(req.body);
      if (!a.tok) throw ApiError(400, "this model has no tokenizer");
      send_json(res, 200, {{"content", utf8_lossy(a.tok->decode(parse_detokenize_request(b, *a.tok)))}});
    });
  });
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(a.metrics.render(), "text/plain; version=0.0.4");
  });

  const int port = o.port == 0 ? svr.bind_to_any_port(o.host) : (svr.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) fail("serve: cannot listen on ", o.host, ":", o.port, " (address in use or not available)");
  std::thread http([&] { svr.listen_after_bind(); });
  // stop() only reaches a server that is already in its accept loop.
  for (int i = 0; i < 1000 && !svr.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  int rc = 0;
  try {
    set_threads(o.threads);
    a.model = std::make_unique<Model>(Weights::load(o.model_dir, parse_weight_dtype(o.dtype), o.mmap));
    a.model->set_kv_dtype(parse_kv_dtype(o.kv_dtype));
    const ModelConfig& c = a.model->config();
    if (std::filesystem::exists(std::filesystem::path(o.model_dir) / "tokenizer.json")) a.tok.emplace(Tokenizer::load(o.model_dir));
    a.pctx.tok = a.tok ? &*a.tok : nullptr;
    a.pctx.model_name = a.opt.model_name;
    a.pctx.vocab_size = c.vocab_size;
    a.pctx.max_context = o.max_context > 0 ? std::min<int64_t>(o.max_context, c.max_position_embeddings)
                                           : c.max_position_embeddings;
    if (a.tok && !a.tok->config().eos_token.empty()) a.pctx.eos_token = a.tok->config().eos_token;
    Scheduler::Options so;
    so.parallel = o.parallel;
    so.max_queue = o.max_queue;
    so.prefix_cache_bytes = size_t(o.cache_mb) << 20;
    so.max_context = a.pctx.max_context;
    a.sched = std::make_unique<Scheduler>(*a.model, a.pctx.tok, so, a.metrics);
    a.ready = true;
    std::printf("listening on http://%s:%d\n", o.host.c_str(), port);
    std::fflush(stdout);
    while (!g_signal) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::fprintf(stderr, "serve: signal %d, stopping\n", int(g_signal));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    rc = 1;
  }
  svr.stop();
  if (a.sched) a.sched->stop();
  http.join();
  return rc;
}

}  // namespace hyb::serve
