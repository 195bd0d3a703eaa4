#include "serve/metrics.h"

#include <cstdio>

namespace hyb::serve {

void Histogram::observe(double v) {
  std::lock_guard<std::mutex> g(m_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++n_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard<std::mutex> g(m_);
  std::string s = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t acc = 0;
  char buf[160];
  for (size_t i = 0; i < bounds_.size(); ++i) {
    acc += counts_[i];
    std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), bounds_[i], (unsigned long long)acc);
    s += buf;
  }
  acc += counts_.back();
  std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name.c_str(),
                (unsigned long long)acc, name.c_str(), sum_, name.c_str(), (unsigned long long)n_);
  return s + buf;
}

void Metrics::count_request(int status) {
  std::lock_guard<std::mutex> g(m_);
  ++by_status_[status];
}

std::string Metrics::render() const {
  std::string s;
  auto gauge = [&](const char* name, const char* type, const char* help, int64_t v) {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(v) + "\n";
  };
  {
    std::lock_guard<std::mutex> g(m_);
    s += "# HELP hybrid_requests_total Finished HTTP requests by status.\n# TYPE hybrid_requests_total counter\n";
    for (auto& [st, n] : by_status_)
      s += "hybrid_requests_total{status=\"" + std::to_string(st) + "\"} " + std::to_string(n) + "\n";
  }
  gauge("hybrid_requests_running", "gauge", "Sequences being generated.", running);
  gauge("hybrid_requests_waiting", "gauge", "Requests queued for a slot.", waiting);
  gauge("hybrid_prompt_tokens_total", "counter", "Prompt tokens received.", prompt_tokens);
  gauge("hybrid_prefix_cache_hit_tokens_total", "counter", "Prompt tokens restored from prefix-cache snapshots.",
        cached_tokens);
  gauge("hybrid_prefix_cache_reprefilled_tokens_total", "counter",
        "Prompt tokens shared with a cached sequence but prefilled again because no snapshot covered them.",
        reprefilled_tokens);
  gauge("hybrid_generation_tokens_total", "counter", "Tokens generated.", generated_tokens);
  gauge("hybrid_prefix_cache_bytes", "gauge", "Bytes held by prefix-cache snapshots.", cache_bytes);
  gauge("hybrid_prefix_cache_entries", "gauge", "Snapshots held.", cache_entries);
  gauge("hybrid_slots_total", "gauge", "Sequence slots.", slots_total);
  gauge("hybrid_slots_free", "gauge", "Sequence slots free.", slots_free);
  s += ttft.render("hybrid_time_to_first_token_seconds", "Time from arrival to the first generated token.");
  s += itl.render("hybrid_inter_token_latency_seconds", "Time between consecutive generated tokens.");
  s += e2e.render("hybrid_e2e_request_latency_seconds", "Time from arrival to the last token.");
  return s;
}

}  // namespace hyb::serve
