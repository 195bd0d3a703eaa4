// The experiment pipeline end to end through the CLI, on tiny models: synth → train (answer positions only) →
// eval accuracy; prepare with whole held-out files → train → eval perplexity on text and shards.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "synth/task.h"
#include "test_util.h"

namespace hyb::test {
namespace {

namespace fs = std::filesystem;
const std::string kBin = HYBRID_BIN;

void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
nlohmann::json last_json_line(const std::string& out) {
  const auto b = out.rfind("\n{");
  return nlohmann::json::parse(out.substr(b == std::string::npos ? out.find('{') : b + 1));
}

std::string run_config(const TempDir& dir, const std::string& data, int64_t seq, int64_t steps) {
  nlohmann::json j = {{"model", {{"preset", "hybrid"}, {"hidden_size", 32}, {"num_hidden_layers", 4},
                                 {"num_attention_heads", 2}, {"intermediate_size", 64}}},
                      {"data", data}, {"steps", steps}, {"batch", 16}, {"seq_len", seq}, {"lr", 0.01},
                      {"warmup", 5}, {"seed", 1}, {"eval_interval", steps}, {"eval_batches", 2}, {"threads", 1}};
  spit(dir / "run.json", j.dump(2));
  return dir / "run.json";
}

TEST(Pipeline, SynthTrainEvalAccuracy) {
  TempDir dir;
  auto r = run(kBin + " synth --task parity --min-len 2 --max-len 6 --train-examples 3000 --val-examples 64 --out " +
               (dir / "data"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("records of 7 tokens"), std::string::npos) << r.out;
  // seq_len must make a window of exactly one record.
  r = run(kBin + " train -c " + run_config(dir, dir / "data", 8, 6) + " -o " + (dir / "bad"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("set seq_len to 6"), std::string::npos) << r.out;

  r = run(kBin + " train -c " + run_config(dir, dir / "data", 6, 60) + " -o " + (dir / "run"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<nlohmann::json> m;
  {
    std::ifstream f(dir / "run/metrics.jsonl");
    std::string line;
    while (std::getline(f, line)) m.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(m.size(), 60u);
  // Answers are 2 of 4 tokens: chance is ln 2 at best, far below an unmasked LM loss over all positions.
  EXPECT_LT(m.back()["loss"].get<double>(), m.front()["loss"].get<double>());

  const std::string ck = dir / "run/checkpoint";
  r = run(kBin + " eval -m " + ck + " --shards " + (dir / "data") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto a = last_json_line(r.out);
  EXPECT_EQ(a["examples"].get<int64_t>(), 64);
  EXPECT_GE(a["accuracy"].get<double>(), 0.0);
  EXPECT_LE(a["accuracy"].get<double>(), 1.0);
  // Fresh examples from the same generator: the number of answers is what the generator says (2..6 per example).
  r = run(kBin + " eval -m " + ck + " --task parity --min-len 2 --max-len 12 --examples 40 --seed 5 --bucket 4 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto b = last_json_line(r.out);
  SynthSpec s;
  s.task = SynthTask::Parity;
  s.min_len = 2;
  s.max_len = 12;
  int64_t answers = 0;
  for (uint64_t i = 0; i < 40; ++i)
    for (int32_t l : synth_example(s, 5, i).labels) answers += l >= 0;
  EXPECT_EQ(b["answers"].get<int64_t>(), answers);
  ASSERT_GE(b["buckets"].size(), 3u);
  EXPECT_EQ(b["buckets"][0]["lo"].get<int64_t>(), 0);
  EXPECT_EQ(b["buckets"][0]["hi"].get<int64_t>(), 4);
  // Text output names the buckets too.
  r = run(kBin + " eval -m " + ck + " --task parity --min-len 2 --max-len 12 --examples 10");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("positions"), std::string::npos) << r.out;
  // A task the model's vocabulary cannot hold, and no source at all, are one-line errors.
  r = run(kBin + " eval -m " + ck + " --task s5 --min-len 2 --max-len 4");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("needs 122 tokens"), std::string::npos) << r.out;
  r = run(kBin + " eval -m " + ck);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("exactly one of"), std::string::npos) << r.out;
}

TEST(Pipeline, HeldOutFilesAndTextPerplexity) {
  TempDir dir;
  std::string a, b;
  for (int i = 0; i < 120; ++i) a += "the cat sat on the mat number " + std::to_string(i % 7) + ".\n\n";
  for (int i = 0; i < 30; ++i) b += "a dog ran to the red house " + std::to_string(i % 5) + ".\n\n";
  spit(dir / "a.txt", a);
  spit(dir / "b.txt", b);
  auto r = run(kBin + " tokenizer train --vocab-size 300 --input " + (dir / "a.txt") + " " + (dir / "b.txt") +
               " --out " + (dir / "tok"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(kBin + " prepare --tokenizer " + (dir / "tok") + " --input " + (dir / "a.txt") + " " + (dir / "b.txt") +
          " --val-files " + (dir / "b.txt") + " --val-fraction 0 --out " + (dir / "data"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto man = nlohmann::json::parse(slurp(dir / "data/manifest.json"));
  EXPECT_EQ(man["train"]["documents"].get<int64_t>(), 120);
  EXPECT_EQ(man["val"]["documents"].get<int64_t>(), 30);  // every paragraph of b.txt, none of a.txt
  EXPECT_EQ(man["val_files"][0].get<std::string>(), "b.txt");
  r = run(kBin + " prepare --tokenizer " + (dir / "tok") + " --input " + (dir / "a.txt") + " --val-files " +
          (dir / "b.txt") + " --out " + (dir / "data2"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("is not one of the --input files"), std::string::npos) << r.out;

  r = run(kBin + " train -c " + run_config(dir, dir / "data", 32, 6) + " -o " + (dir / "run"));
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string ck = dir / "run/checkpoint";
  // The whole file scored: byte-level BPE decodes losslessly, so the bytes behind the scored tokens are the
  // file minus its first token's bytes (no token predicts the first).
  r = run(kBin + " eval -m " + ck + " --text " + (dir / "b.txt") + " --seq 64 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto t = last_json_line(r.out);
  const double first_bytes = 1;  // "a" followed by a space-prefixed word: the first pretoken is "a"
  EXPECT_NEAR(t["bytes"].get<double>(), double(b.size()) - first_bytes, 0.5) << t.dump();
  EXPECT_NEAR(t["bits_per_byte"].get<double>(),
              t["mean_nll"].get<double>() * t["tokens"].get<double>() / std::log(2.0) / t["bytes"].get<double>(), 1e-9);
  EXPECT_NEAR(t["perplexity"].get<double>(), std::exp(t["mean_nll"].get<double>()), 1e-6);
  // Shards (val = b.txt with EOS after each paragraph), capped.
  r = run(kBin + " eval -m " + ck + " --shards " + (dir / "data") + " --seq 32 --stride 16 --max-tokens 100 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto s = last_json_line(r.out);
  EXPECT_EQ(s["tokens"].get<int64_t>(), 100);
  EXPECT_EQ(s["stride"].get<int64_t>(), 16);
  EXPECT_TRUE(s.contains("bits_per_byte"));
}

}  // namespace
}  // namespace hyb::test
