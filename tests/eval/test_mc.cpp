// Multiple-choice evaluation (eval/multiple_choice.h): per-choice log-likelihoods of pre-tokenized items against
// the float64 PyTorch reference (tests/eval/ref_mc.py) on a checkpoint the engine has never seen; the OLMES prompt
// formats written out by hand; normalisations, bits per byte and shot draws on hand-made scores; text items through
// the CLI; malformed rows.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/multiple_choice.h"
#include "test_util.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/trainer.h"
#include "train/grad_check.h"

namespace hyb {
namespace {
using namespace gradcheck;
using nlohmann::json;

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

void write_text(const std::string& path, const std::string& s) { std::ofstream(path, std::ios::binary) << s; }

json last_json_line(const std::string& out) {
  const size_t end = out.find_last_not_of('\n');
  const size_t start = out.rfind('\n', end);
  return json::parse(out.substr(start == std::string::npos ? 0 : start + 1));
}

TEST(McEval, LogLikelihoodsMatchReference) {
  if (!have_reference()) GTEST_SKIP() << "reference tool or python3-torch not available";
  test::TempDir d;
  { std::ofstream(d / "config.json") << kSmallVariantConfig; }
  run(kPython + " " + ref_tool() + " init --config " + (d / "config.json") + " --out " + (d / "model") + " --seed 21");
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> tok(2, 88);
  auto ids = [&](int n) {
    json v = json::array();
    for (int i = 0; i < n; ++i) v.push_back(tok(rng));
    return v;
  };
  {
    // Contexts across the 64-token GDN chunk; 2-5 choices of 1-12 tokens; one choice repeated in two items.
    std::ofstream f(d / "items.jsonl");
    const int ctx_len[] = {1, 7, 63, 64, 65, 130, 20, 3};
    for (int i = 0; i < 8; ++i) {
      json choices = json::array();
      const int n = 2 + i % 4;
      for (int c = 0; c < n; ++c) choices.push_back(ids(1 + (c * 5 + i) % 12));
      f << json{{"context_ids", ids(ctx_len[i])}, {"choice_ids", choices}, {"answer", i % n}}.dump() << "\n";
    }
  }
  run(kPython + " " + HYB_REPO_ROOT + "/tests/eval/ref_mc.py " + ref_tool() + " " + (d / "model") + " " +
      (d / "items.jsonl") + " " + (d / "want.jsonl"));
  const auto want = read_jsonl(d / "want.jsonl");
  for (const char* pack : {"0", "100"}) {  // all in one pass, and many passes
    const json s = last_json_line(run(kHybrid + " eval -m " + (d / "model") + " --task mc --data " + (d / "items.jsonl") +
                                      " --pack " + pack + " --per-item " + (d / "got.jsonl") + " --json"));
    const auto got = read_jsonl(d / "got.jsonl");
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    int right = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& wl = want[i]["logps"];
      ASSERT_EQ(got[i]["choices"].size(), wl.size());
      size_t best = 0;
      for (size_t c = 0; c < wl.size(); ++c) {
        const double g = got[i]["choices"][c]["logp"].get<double>(), w = wl[c].get<double>();
        worst = std::max(worst, std::fabs(g - w));
        EXPECT_LT(std::fabs(g - w), 1e-4) << "item " << i << " choice " << c;
        if (w > wl[best].get<double>()) best = c;
      }
      EXPECT_EQ(got[i]["predicted"]["none"].get<int>(), int(best)) << "item " << i;
      right += int(best) == got[i]["answer"].get<int>();
    }
    EXPECT_DOUBLE_EQ(s["accuracy"]["none"].get<double>(), right / double(got.size()));
    EXPECT_EQ(s["items"].get<int64_t>(), 8);
    EXPECT_TRUE(s["accuracy"]["char"].is_null());  // no tokenizer: no text sizes, no pmi
    EXPECT_TRUE(s["accuracy"]["pmi"].is_null());
    EXPECT_TRUE(s["answer_bpb"].is_null());
    std::printf("    mc --pack %s: worst |logp - reference| %.3e over %zu items\n", pack, worst, got.size());
  }
}

McItem text_item(std::string question, std::vector<std::string> choices, int answer, bool cloze = false) {
  McItem it;
  (cloze ? it.context : it.question) = std::move(question);
  it.choices = std::move(choices);
  it.answer = answer;
  it.id = "t";
  return it;
}

TEST(McEval, PromptFormatsAreOlmes) {
  const McItem q = text_item("What is 2+2?", {"3", "4"}, 1);
  EXPECT_EQ(mc_prompt_text(q, McFormat::RC), "Question: What is 2+2?\nAnswer:");
  EXPECT_EQ(mc_continuation_text(q, McFormat::RC, 1), " 4");
  EXPECT_EQ(mc_prompt_text(q, McFormat::MC), "Question: What is 2+2?\n A. 3\n B. 4\nAnswer:");
  EXPECT_EQ(mc_continuation_text(q, McFormat::MC, 1), " B");
  const McItem c = text_item("The cat sat on the", {"mat", " hat"}, 0, true);
  EXPECT_EQ(mc_prompt_text(c, McFormat::RC), "The cat sat on the");
  EXPECT_EQ(mc_continuation_text(c, McFormat::RC, 0), " mat");
  EXPECT_EQ(mc_continuation_text(c, McFormat::RC, 1), " hat");  // already spaced: not doubled
  const McItem c2 = text_item("Fill in: ", {"x", "y"}, 0, true);
  EXPECT_EQ(mc_continuation_text(c2, McFormat::RC, 0), "x");    // the context ends in a space
}

TEST(McEval, NormalisationsAndBitsPerByte) {
  McItemScore s;
  s.answer = 1;
  // Choice 0: highest total; choice 1: best per token and per char; choice 2: best pmi.
  s.choices = {{-4.0, -5.0, 1, 4, 4}, {-6.0, -3.0, 4, 10, 8}, {-5.0, -9.0, 2, 3, 3}};
  EXPECT_EQ(s.predict(McNorm::None), 0);
  EXPECT_EQ(s.predict(McNorm::Token), 1);  // -1.5 vs -4 and -2.5
  EXPECT_EQ(s.predict(McNorm::Char), 1);   // -0.75 vs -1 and -1.67
  EXPECT_EQ(s.predict(McNorm::Pmi), 2);    // 4 vs 1 and -3
  EXPECT_NEAR(s.answer_bpb(), 6.0 / (std::log(2.0) * 10), 1e-12);
  McItemScore t = s;
  t.answer = 0;
  const McSummary m = summarize({s, t});
  EXPECT_DOUBLE_EQ(m.accuracy[int(McNorm::None)], 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy[int(McNorm::Token)], 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy[int(McNorm::Pmi)], 0.0);
  EXPECT_NEAR(m.chance, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.bpb, (6.0 / 10 + 4.0 / 4) / (2 * std::log(2.0)), 1e-12);
  McItemScore u = s;
  u.choices[0].uncond_logp = std::nan("");
  EXPECT_EQ(u.predict(McNorm::Pmi), -1);
  EXPECT_TRUE(std::isnan(summarize({u}).accuracy[int(McNorm::Pmi)]));
  // Shot draws: distinct, in range, reproducible, and refused when the pool is too small.
  const auto a = draw_shots(10, 4, 7), b = draw_shots(10, 4, 7);
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 4u);
  for (size_t i : a) EXPECT_LT(i, 10u);
  EXPECT_THROW(draw_shots(3, 4, 7), Error);
}

// Text items through the CLI give the same log-likelihoods as the same prompts pre-tokenized, and the shots sit
// before the item, each followed by its correct continuation and a blank line.
TEST(McEval, TextItemsAndShotsThroughTheCli) {
  test::TempDir d;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "Question: What is the capital of France?\nAnswer: Paris\n\nThe cat sat on the mat.\n";
  write_text(d / "corpus.txt", text);
  BpeTrainOptions opt;
  opt.vocab_size = 300;
  write_hf_tokenizer(d / "model", train_bpe({d / "corpus.txt"}, opt, nullptr), TokenizerConfig{}, 4096);
  {
    std::ofstream(d / "config.json") << R"({"model_type": "olmo_hybrid", "vocab_size": 300, "hidden_size": 32,
      "intermediate_size": 48, "num_hidden_layers": 2, "layer_types": ["linear_attention", "full_attention"],
      "num_attention_heads": 2, "num_key_value_heads": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 2,
      "linear_key_head_dim": 8, "linear_value_head_dim": 8, "linear_conv_kernel_dim": 4, "max_position_embeddings": 512,
      "eos_token_id": 296, "pad_token_id": 299, "bos_token_id": null})";
  }
  run(kHybrid + " init -c " + (d / "config.json") + " -o " + (d / "model") + " -s 3");
  const std::vector<McItem> items = {text_item("What is the capital of France?", {"Paris", "Rome", "a cat"}, 0),
                                     text_item("The cat sat on the", {"mat.", "dog.", "sky"}, 0, true),
                                     text_item("What sat on the mat?", {"The cat", "Paris"}, 0)};
  {
    std::ofstream f(d / "text.jsonl");
    for (const auto& it : items)
      f << json{{it.question.empty() ? "context" : "question", it.question.empty() ? it.context : it.question},
                {"choices", it.choices}, {"answer", it.answer}}.dump() << "\n";
  }
  const Tokenizer tok = Tokenizer::load(d / "model");
  for (const char* format : {"rc", "mc"}) {
    for (int shots : {0, 1}) {
      // Expected prompts, built here by hand: shot = items[2] (the only dev item) when shots = 1.
      McPromptOptions po;
      po.format = parse_mc_format(format);
      std::ofstream f(d / "ids.jsonl");
      for (size_t i = 0; i < 2; ++i) {
        std::string prefix;
        if (shots) prefix = mc_prompt_text(items[2], po.format) + mc_continuation_text(items[2], po.format, 0) + "\n\n";
        json choices = json::array();
        for (size_t c = 0; c < items[i].choices.size(); ++c)
          choices.push_back(tok.encode(mc_continuation_text(items[i], po.format, c)));
        f << json{{"context_ids", tok.encode(prefix + mc_prompt_text(items[i], po.format))}, {"choice_ids", choices},
                  {"answer", 0}}.dump() << "\n";
      }
      f.close();
      {  // dev = the third item; data = the first two
        std::ofstream a(d / "data.jsonl"), b(d / "dev.jsonl");
        std::ifstream in(d / "text.jsonl");
        std::string line;
        for (int k = 0; std::getline(in, line); ++k) (k < 2 ? a : b) << line << "\n";
      }
      const std::string common = kHybrid + " eval -m " + (d / "model") + " --task mc --format " + format + " --json";
      const json got = last_json_line(run(common + " --data " + (d / "data.jsonl") + " --dev " + (d / "dev.jsonl") +
                                          " --shots " + std::to_string(shots) + " --per-item " + (d / "got.jsonl")));
      run(common + " --data " + (d / "ids.jsonl") + " --per-item " + (d / "want.jsonl"));
      const auto g = read_jsonl(d / "got.jsonl"), w = read_jsonl(d / "want.jsonl");
      ASSERT_EQ(g.size(), 2u);
      ASSERT_EQ(w.size(), 2u);
      for (size_t i = 0; i < 2; ++i)
        for (size_t c = 0; c < g[i]["choices"].size(); ++c) {
          EXPECT_NEAR(g[i]["choices"][c]["logp"].get<double>(), w[i]["choices"][c]["logp"].get<double>(), 1e-9)
              << format << " shots " << shots << " item " << i << " choice " << c;
          const std::string cont = mc_continuation_text(items[i], parse_mc_format(format), c);
          EXPECT_EQ(g[i]["choices"][c]["bytes"].get<int64_t>(), int64_t(cont.size()));
          EXPECT_EQ(w[i]["choices"][c]["bytes"].get<int64_t>(), int64_t(cont.size()));  // decoded from the ids
        }
      EXPECT_FALSE(got["accuracy"]["char"].is_null());
      EXPECT_EQ(got["accuracy"]["pmi"].is_null(), std::string(format) == "mc");  // pmi is an RC normalisation
      EXPECT_GT(got["answer_bpb"].get<double>(), 0);
    }
  }
  // --shots without --dev holds the shots out of the data.
  const json held = last_json_line(run(kHybrid + " eval -m " + (d / "model") + " --task mc --json --data " +
                                       (d / "text.jsonl") + " --shots 1"));
  EXPECT_EQ(held["items"].get<int64_t>(), 2);
}

TEST(McEval, MalformedRowsNameFileAndLine) {
  test::TempDir d;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"question": "q", "choices": ["a", "b"], "answer": 2})", "2 choices"},
      {R"({"question": "q", "choices": ["a"], "answer": 0})", "at least 2"},
      {R"({"question": "q", "context": "c", "choices": ["a", "b"], "answer": 0})", "exactly one"},
      {R"({"question": "q", "choices": ["a", ""], "answer": 0})", "choices[1]"},
      {R"({"question": "q", "choices": ["a", "b"]})", "answer"},
      {R"({"question": "q", "choices": ["a", "b"], "answer": 0.5})", "answer"},
      {R"({"question": "\ud800", "choices": ["a", "b"], "answer": 0})", "invalid JSON"},
      {R"({"context_ids": [1, 2], "choice_ids": [[3], [90]], "answer": 0})", "outside [0, 89)"},
      {R"({"context_ids": [], "choice_ids": [[3], [4]], "answer": 0})", "context_ids"},
      {R"({"context_ids": [1], "choice_ids": [[3], []], "answer": 0})", "choice_ids[1]"},
      {R"([1, 2])", "JSON object"},
      {R"({"question": )", "invalid JSON"},
  };
  for (const auto& [row, needle] : bad) {
    write_text(d / "x.jsonl", "\n" + row + "\n");
    try {
      load_mc_jsonl(d / "x.jsonl", 89);
      ADD_FAILURE() << "accepted: " << row;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("x.jsonl:2:"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
    }
  }
  std::string many = R"({"question": "q", "answer": 0, "choices": [)";
  for (int i = 0; i < 27; ++i) many += std::string(i ? "," : "") + "\"c\"";
  write_text(d / "x.jsonl", many + "]}\n");
  EXPECT_THROW(load_mc_jsonl(d / "x.jsonl", 0), Error);
  write_text(d / "x.jsonl", "\n\n");
  EXPECT_THROW(load_mc_jsonl(d / "x.jsonl", 0), Error);
}

}  // namespace
}  // namespace hyb
