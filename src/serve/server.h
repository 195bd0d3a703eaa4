// `hybrid serve`: the OpenAI-compatible HTTP layer (cpp-httplib) over the scheduler. Routes, auth, request
// validation, SSE streaming, Prometheus metrics. Loopback by default.
#pragma once
#include <string>

namespace hyb::serve {

struct ServeOptions {
  std::string model_dir, host = "127.0.0.1", api_key, dtype = "auto", model_name, kv_dtype = "f32";
  int port = 8080, parallel = 4, max_queue = 64, threads = 0, http_threads = 64;
  int64_t cache_mb = 1024, max_context = 0;
  bool mmap = false;  // serving copies weights into RAM by default: anonymous memory gets huge pages, decode is faster
};

// Runs until SIGINT/SIGTERM; returns the process exit code.
int run_server(const ServeOptions& o);

}  // namespace hyb::serve
