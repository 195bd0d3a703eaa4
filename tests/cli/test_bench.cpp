// hybrid bench: JSON output that parses, with the byte and FLOP counts recomputed here from the config's numbers
// (written out by hand, not through the library), tiny GDN shapes, and one-line errors for bad input.
#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

namespace {

// 4 layers (3 GDN : 1 attention), D=32, I=64, V=300; attention 2 heads x 16 with 1 KV head; GDN 2 heads,
// dk 8, dv 16, conv 4.
const char* kConfig = R"({"vocab_size": 300, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 4,
  "num_attention_heads": 2, "num_key_value_heads": 1,
  "layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention"],
  "linear_num_key_heads": 2, "linear_num_value_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 16,
  "linear_conv_kernel_dim": 4, "tie_word_embeddings": false, "eos_token_id": 299})";

nlohmann::json run_json(const std::string& args) {
  auto r = run(hybrid_bin() + " bench " + args + " 2>/dev/null");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
    return {};
  }
}

// Weight bytes of one decoded token for kConfig with matrices of `mb` bytes per element (vectors stay f32).
// Quantized formats keep matrices in groups of 16 rows, so the 2-row a/b projections and the 300-row lm_head
// are read with their padding rows (14 + 14 per GDN layer, 4 for lm_head).
double weight_bytes(double mb, bool row_groups = false) {
  const double D = 32, I = 64, V = 300;
  const double gdn_mats = 16 * D + 16 * D + 32 * D + 2 * D + 2 * D + 32 * D + D * 32;  // q k v a b g o
  const double gdn_vecs = D + D + 64 * 4 + 2 + 2 + 16;  // norms, conv taps, A_log, dt_bias, o_norm
  const double attn_mats = 32 * D + 16 * D + 16 * D + D * 32;
  const double attn_vecs = 32 + 16 + D + D;  // q_norm, k_norm, two layer norms
  const double mlp = 3 * I * D;
  const double mats = 3 * (gdn_mats + mlp) + attn_mats + mlp + V * D /* lm_head */ + D /* one embedding row */;
  const double vecs = 3 * gdn_vecs + attn_vecs + D /* final norm */;
  const double padding = row_groups ? (3 * 28 + 4) * D : 0;
  return (mats + padding) * mb + vecs * 4;
}

double kv_and_state_bytes(double context, double tokens) {
  const double kv = 1 /* attention layer */ * 2 * 16 /* kv_dim */ * 4 * (context + (tokens + 1) / 2);
  const double state = 3 /* GDN layers */ * 2 /* read + write */ * (2 * 8 * 16 + 3 * 64) * 4;
  return kv + state;
}

}  // namespace

TEST(Bench, DecodeJsonBytesPerToken) {
  TempDir d;
  std::ofstream(d / "c.json") << kConfig;
  // Q8_0: 32 int8 + an f16 scale per block of 32; Q4_0: 16 bytes of nibbles + an f16 scale.
  for (auto [dtype, mb] : {std::pair{"f32", 4.0}, {"bf16", 2.0}, {"int8", 34.0 / 32}, {"q4", 18.0 / 32}}) {
    const bool quantized = dtype[0] == 'i' || dtype[0] == 'q';
    auto j = run_json("decode --config " + (d / "c.json") + " --tokens 4 --threads 1 --json --dtype " + dtype);
    ASSERT_TRUE(j.is_object());
    EXPECT_GT(j["tokens_per_s"].get<double>(), 0) << dtype;
    EXPECT_EQ(j["fill"], "none");
    EXPECT_DOUBLE_EQ(j["bytes_per_token"].get<double>(), weight_bytes(mb, quantized) + kv_and_state_bytes(0, 4))
        << dtype;
    EXPECT_NEAR(j["gb_per_s"].get<double>(), j["bytes_per_token"].get<double>() * j["tokens_per_s"].get<double>() / 1e9,
                1e-9);
  }
  // A context filled both ways; the K/V term grows with it.
  for (const char* fill : {"prefill", "random"}) {
    auto j = run_json("decode --config " + (d / "c.json") + " --context 40 --tokens 3 --threads 1 --json --fill " +
                      fill);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["fill"], fill);
    EXPECT_GT(j["tokens_per_s"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(j["bytes_per_token"].get<double>(), weight_bytes(4) + kv_and_state_bytes(40, 3)) << fill;
    EXPECT_DOUBLE_EQ(j["cache_bytes_used"].get<double>(), 43.0 * 2 * 16 * 4 + 3 * (2 * 8 * 16 + 3 * 64) * 4);
  }
  // The read probe before every timed repetition and after the last; each repetition's ratio against the faster
  // probe beside it, the median of those the figure.
  auto j = run_json("decode --config " + (d / "c.json") + " --tokens 2 --reps 3 --threads 1 --read-probe-mb 4 --json");
  ASSERT_TRUE(j.is_object());
  const auto probes = j["read_gb_per_s_probes"].get<std::vector<double>>();
  const auto fractions = j["fraction_of_read_bandwidth_reps"].get<std::vector<double>>();
  ASSERT_EQ(probes.size(), 4u);
  ASSERT_EQ(fractions.size(), 3u);
  for (double p : probes) EXPECT_GT(p, 0);
  std::vector<double> sorted = fractions;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_DOUBLE_EQ(j["fraction_of_read_bandwidth"].get<double>(), sorted[1]);
  for (double f : fractions) EXPECT_GT(f, 0);
  EXPECT_EQ(j["read_probe_bytes"].get<double>(), double(4 << 20));  // whole 2 MiB pages
}

TEST(Bench, PrefillAndRunConfig) {
  auto j = run_json("prefill --config " + std::string(HYBRID_SOURCE_DIR) +
                    "/configs/smoke.json --vocab 512 --tokens 32 --threads 1 --json");
  ASSERT_TRUE(j.is_object());
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0);
  EXPECT_EQ(j["tokens"], 32);
  EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0);
}

TEST(Bench, TrainFlopsAndMfu) {
  TempDir d;
  std::ofstream(d / "c.json") << kConfig;
  auto j = run_json("train --config " + (d / "c.json") + " --batch 2 --seq 16 --steps 2 --threads 1 --peak-n 128 "
                    "--json");
  ASSERT_TRUE(j.is_object());
  const double tps = j["tokens_per_s"].get<double>();
  EXPECT_GT(tps, 0);
  // 6 per matrix parameter except the embedding (lm_head included), + causal attention 6·q_dim·(T+1) per
  // attention layer, + GDN 3·7·Hv·dk·dv per GDN layer.
  const double mats = 3 * (16 * 32 + 16 * 32 + 32 * 32 + 2 * 32 + 2 * 32 + 32 * 32 + 32 * 32 + 3 * 64 * 32) +
                      (32 * 32 + 16 * 32 + 16 * 32 + 32 * 32 + 3 * 64 * 32) + 300 * 32;
  const double flops = 6 * mats + 6.0 * 32 * 17 + 3 * 21.0 * 2 * 8 * 16;
  EXPECT_DOUBLE_EQ(j["flops_per_token"].get<double>(), flops);
  EXPECT_NEAR(j["mfu_documented"].get<double>(), flops * tps / 1e9 / 117.0, 1e-9);
  EXPECT_GT(j["peak_measured_gflops"].get<double>(), 0);
  EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
}

TEST(Bench, GdnTinyShapes) {
  auto j = run_json("gdn --T 8,70 --heads 4 --key-heads 2 --dk 8 --dv 16 --reps 1 --warmup 0 --threads 1 --json");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j["rows"].size(), 2u);
  for (auto& r : j["rows"]) {
    EXPECT_GT(r["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(r["chunk_bwd_ms"].get<double>(), 0);
  }
  auto t = run(hybrid_bin() + " bench gdn --T 16 --heads 2 --dk 8 --dv 8 --reps 1");
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("chunk/recurrent"), std::string::npos) << t.out;
}

TEST(Bench, Tokenize) {
  TempDir d;
  // Every byte as its own token: a complete byte-level vocabulary with no merges.
  std::ofstream tk(d / "bytes.tiktoken");
  const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int b = 0; b < 256; ++b) tk << b64[b >> 2] << b64[(b & 3) << 4] << "== " << b << "\n";
  tk.close();
  std::ofstream(d / "t.txt") << "Hello world, hello bench.\n\nA second paragraph.\n";
  auto j = run_json("tokenize --tokenizer " + (d / "bytes.tiktoken") + " --text " + (d / "t.txt") +
                    " --threads 1 --reps 1 --json");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["tokens"], j["text_bytes"]);  // one token per byte
  EXPECT_GT(j["mb_per_s"].get<double>(), 0);
}

TEST(Bench, Errors) {
  TempDir d;
  std::ofstream(d / "c.json") << kConfig;
  std::ofstream(d / "bad.json") << R"({"hidden_size": 30, "num_attention_heads": 4})";
  const std::string b = hybrid_bin() + " bench ";
  expect_one_line_error(run(b + "nope"), "unknown benchmark");
  expect_one_line_error(run(b + "decode --config " + (d / "c.json") + " --dtype int4"), "--dtype");
  expect_one_line_error(run(b + "decode --config " + (d / "c.json") + " --dtype f16"), "--dtype");
  expect_one_line_error(run(b + "decode --tokens 4"), "--config or --model");
  expect_one_line_error(run(b + "decode --config " + (d / "missing.json")), "missing.json");
  expect_one_line_error(run(b + "prefill --config " + (d / "bad.json")), "bad.json");
  expect_one_line_error(run(b + "decode --config " + (d / "c.json") + " --tokens 0"), "--tokens");
  expect_one_line_error(run(b + "decode --config " + (d / "c.json") + " --fill maybe"), "--fill");
  expect_one_line_error(run(b + "gdn --T 0"), "--T");
  expect_one_line_error(run(b + "gdn --T 8 --heads 3 --key-heads 2"), "--key-heads");
  expect_one_line_error(run(b + "train --config " + (d / "c.json") + " --bogus"), "bogus");
  // Would need ~1.5 TB of K/V: refused before allocating.
  expect_one_line_error(run(b + "decode --config " + (d / "c.json") + " --context 100000000000 --tokens 1"), "available");
  for (const char* s : {"", "train ", "prefill ", "decode ", "gdn ", "tokenize "}) {
    auto h = run(b + s + "--help");
    EXPECT_EQ(h.code, 0) << s << h.out;
    EXPECT_NE(h.out.find("--"), std::string::npos) << s;
  }
}
