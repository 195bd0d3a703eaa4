#include "model/init.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/timer.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace hyb {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// xoshiro256** stream for one block.
struct Rng {
  uint64_t s[4];
  Rng(uint64_t seed, uint64_t stream, uint64_t block) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull) ^ (block * 0x8cb92ba72f3d8dd7ull);
    for (auto& v : s) v = splitmix64(x);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box-Muller
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
};

enum class Kind { TruncNormal, Ones, ALog, DtBias };

Kind kind_of(const std::string& name) {
  auto ends = [&](const char* s) {
    const size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  if (ends(".A_log")) return Kind::ALog;
  if (ends(".dt_bias")) return Kind::DtBias;
  if (ends("norm.weight") || ends("layernorm.weight")) return Kind::Ones;
  return Kind::TruncNormal;
}

constexpr int64_t kBlock = 1 << 16;

void fill(const ModelConfig& c, Kind kind, uint64_t seed, uint64_t stream, int64_t begin, int64_t n, float* out) {
  const double std_ = c.initializer_range;
  const int64_t b0 = begin / kBlock, b1 = (begin + n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t b = b0; b < b1; ++b) {
    Rng rng(seed, stream, uint64_t(b));
    for (int64_t i = b * kBlock; i < (b + 1) * kBlock; ++i) {
      double v;
      switch (kind) {
        case Kind::Ones: v = 1.0; break;
        case Kind::ALog: {
          const double a = c.linear_a_log_min + (c.linear_a_log_max - c.linear_a_log_min) * rng.uniform();
          v = std::log(std::max(a, 1e-12));
          break;
        }
        case Kind::DtBias: {
          const double lmin = std::log(c.linear_dt_min), lmax = std::log(c.linear_dt_max);
          const double dt = std::max(std::exp(rng.uniform() * (lmax - lmin) + lmin), c.linear_dt_init_floor);
          v = dt + std::log(-std::expm1(-dt));  // inverse softplus
          break;
        }
        default:
          do v = rng.normal(); while (std::fabs(v) > 3.0);
          v *= std_;
      }
      if (i >= begin && i < begin + n) out[i - begin] = float(v);
    }
  }
}

}  // namespace

void init_values(const ModelConfig& cfg, const std::string& name, uint64_t seed, uint64_t stream, float* out,
                 int64_t n) {
  fill(cfg, kind_of(name), seed, stream, 0, n, out);
}

void init_checkpoint(const ModelConfig& c, const std::string& dir, const InitOptions& opt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) fail(dir, ": cannot create output directory");
  if (opt.dtype != DType::F32 && opt.dtype != DType::BF16 && opt.dtype != DType::F16)
    fail("init: weights dtype must be F32, BF16 or F16");

  // Tensor list in canonical order; the fused conv optionally split into q/k/v parts as released files are.
  struct Item { TensorSpec spec; Kind kind; uint64_t stream; int64_t row0 = 0; };
  std::vector<Item> items;
  uint64_t stream = 0;
  const int64_t K = c.linear_conv_kernel_dim;
  for (auto& p : canonical_params(c)) {
    ++stream;
    const bool conv = p.name.size() > 13 && p.name.compare(p.name.size() - 13, 13, "conv1d.weight") == 0;
    if (conv && opt.split_conv) {
      const std::string pre = p.name.substr(0, p.name.size() - 13);
      int64_t row = 0;
      for (auto [part, width] : {std::pair{"q", c.key_dim()}, {"k", c.key_dim()}, {"v", c.value_dim()}}) {
        items.push_back({{pre + part + "_conv1d.weight", opt.dtype, {width, 1, K}}, Kind::TruncNormal, stream, row});
        row += width;
      }
      continue;
    }
    items.push_back({{p.name, opt.dtype, p.shape}, kind_of(p.name), stream, 0});
  }
  std::vector<TensorSpec> specs;
  size_t total = 0;
  for (auto& it : items) {
    specs.push_back(it.spec);
    total += it.spec.nbytes();
  }

  // config.json and generation_config.json first; the weights file lands last, atomically.
  {
    nlohmann::json j = c.resolved_json();
    j["dtype"] = opt.dtype == DType::BF16 ? "bfloat16" : opt.dtype == DType::F16 ? "float16" : "float32";
    const std::string s = j.dump(2) + "\n";
    AtomicFile f((fs::path(dir) / "config.json").string());
    f.write(s.data(), s.size());
    f.commit();
    nlohmann::json g = {{"_from_model_config", true}};
    if (c.eos_token_id) g["eos_token_id"] = *c.eos_token_id;
    if (c.pad_token_id) g["pad_token_id"] = *c.pad_token_id;
    const std::string gs = g.dump(2) + "\n";
    AtomicFile gf((fs::path(dir) / "generation_config.json").string());
    gf.write(gs.data(), gs.size());
    gf.commit();
  }
  SafetensorsWriter writer((fs::path(dir) / "model.safetensors").string(), specs);
  std::vector<float> f32;
  std::vector<uint16_t> half;
  const int64_t slab = 1 << 24;
  size_t done = 0;
  Timer timer;
  double next_report = 1.0;
  for (auto& it : items) {
    const int64_t n = int64_t(it.spec.nbytes() / dtype_size(opt.dtype));
    std::vector<uint8_t> bytes(it.spec.nbytes());
    const int64_t row_elems = n / std::max<int64_t>(1, it.spec.shape[0]);
    for (int64_t s0 = 0; s0 < n; s0 += slab) {
      const int64_t m = std::min(slab, n - s0);
      f32.resize(size_t(m));
      // Split conv parts draw the same numbers as the fused tensor would (offset by their first row).
      fill(c, it.kind, opt.seed, it.stream, it.row0 * row_elems + s0, m, f32.data());
      if (opt.dtype == DType::F32) {
        std::memcpy(bytes.data() + s0 * 4, f32.data(), size_t(m) * 4);
      } else {
        auto* dst = reinterpret_cast<uint16_t*>(bytes.data()) + s0;
        for (int64_t i = 0; i < m; ++i) dst[i] = opt.dtype == DType::BF16 ? f32_to_bf16(f32[i]) : f32_to_f16(f32[i]);
      }
    }
    writer.write(it.spec.name, bytes.data(), bytes.size());
    done += bytes.size();
    if (opt.progress && total > (size_t(1) << 28) && (timer.seconds() > next_report || done == total)) {
      next_report = timer.seconds() + 1.0;  // at most one progress line a second
      std::fprintf(stderr, "\rinit: %5.1f%% (%.1f / %.1f GB, %.0f s)", 100.0 * double(done) / double(total),
                   double(done) / 1e9, double(total) / 1e9, timer.seconds());
    }
  }
  writer.finish();
  if (opt.progress && total > (size_t(1) << 28)) std::fprintf(stderr, "\n");
}

}  // namespace hyb
