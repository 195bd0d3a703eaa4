// The small RULER (eval/ruler.h): every task's item fits its length, hides its targets in the text, ends with the
// answer prefix, offers the right continuation among its forced choices, and is a pure function of its seed;
// string_match_all as RULER defines it. Haystack: the GPL text every Debian system has.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/ruler.h"
#include "test_util.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/trainer.h"

namespace hyb {
namespace {

constexpr const char* kText = "/usr/share/common-licenses/GPL-3";

size_t count(const std::string& s, const std::string& w) {
  size_t n = 0;
  for (size_t p = s.find(w); p != std::string::npos; p = s.find(w, p + 1)) ++n;
  return n;
}

class Ruler : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kText)) GTEST_SKIP() << kText << " not found";
    std::ifstream in(kText);
    std::stringstream ss;
    ss << in.rdbuf();
    text_ = ss.str();
    BpeTrainOptions opt;
    opt.vocab_size = 1000;
    write_hf_tokenizer(dir_ / "tok", train_bpe({kText}, opt, nullptr), TokenizerConfig{}, 4096);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_ / "tok"));
    sentences_ = split_sentences(text_);
  }
  test::TempDir dir_;
  std::string text_;
  std::unique_ptr<Tokenizer> tok_;
  std::vector<std::string> sentences_;
};

TEST_F(Ruler, ItemsFitHideTheirTargetsAndOfferTheRightChoice) {
  ASSERT_GT(sentences_.size(), 100u);
  for (RulerTask t : kRulerTasks)
    for (int64_t L : {1024, 4096}) {
      const std::string what = std::string(ruler_task_name(t)) + "@" + std::to_string(L);
      const RulerItem a = make_ruler_item(t, L, sentences_, *tok_, 5, 0);
      EXPECT_EQ(a.prompt_tokens, int64_t(tok_->encode(a.prompt).size())) << what;
      EXPECT_LE(a.prompt_tokens + a.max_new_tokens, L) << what;
      EXPECT_GT(a.prompt_tokens + a.max_new_tokens, L / 2) << what << ": the haystack should fill the length";
      ASSERT_FALSE(a.targets.empty()) << what;
      for (const auto& target : a.targets) EXPECT_NE(a.prompt.find(target), std::string::npos) << what << " " << target;
      ASSERT_GE(a.choices.size(), 4u) << what;
      ASSERT_LT(size_t(a.answer), a.choices.size());
      EXPECT_EQ(a.choices[size_t(a.answer)], " " + a.targets[0]) << what;
      for (size_t c = 0; c < a.choices.size(); ++c) {
        if (int(c) == a.answer) continue;
        for (const auto& target : a.targets) EXPECT_NE(a.choices[c], " " + target) << what << ": a decoy is right";
      }
      // Deterministic in the seed and index.
      EXPECT_EQ(make_ruler_item(t, L, sentences_, *tok_, 5, 0).prompt, a.prompt) << what;
      EXPECT_NE(make_ruler_item(t, L, sentences_, *tok_, 5, 1).prompt, a.prompt) << what;
      switch (t) {
        case RulerTask::NiahSingle:
          EXPECT_EQ(count(a.prompt, "One of the special magic numbers for "), 1u);
          break;
        case RulerTask::NiahMultiKey:  // the decoys are the other keys' numbers, also in the text
          EXPECT_EQ(count(a.prompt, "One of the special magic numbers for "), 4u);
          for (const auto& c : a.choices) EXPECT_NE(a.prompt.find(c.substr(1)), std::string::npos) << c;
          break;
        case RulerTask::NiahMultiValue:
        case RulerTask::NiahMultiQuery:
          EXPECT_EQ(a.targets.size(), 4u);
          break;
        case RulerTask::VariableTracking:
          EXPECT_EQ(a.targets.size(), 5u);
          EXPECT_EQ(count(a.prompt, "VAR "), 18u);  // 2 chains × (1 + 2 × 4); the question names none
          for (const auto& c : a.choices) EXPECT_NE(a.prompt.find("VAR" + c + " ="), std::string::npos) << c;
          break;
        case RulerTask::CommonWords: {
          EXPECT_EQ(a.targets.size(), 10u);
          const size_t common = count(a.prompt, ". " + a.targets[0] + " ");
          for (size_t c = 0; c < a.choices.size(); ++c) {
            if (int(c) != a.answer) {
              EXPECT_LT(count(a.prompt, "." + a.choices[c] + " "), common);
            }
          }
          break;
        }
      }
    }
}

TEST_F(Ruler, TooShortAndTooLittleTextAreErrors) {
  EXPECT_THROW(make_ruler_item(RulerTask::NiahMultiQuery, 64, sentences_, *tok_, 1, 0), RulerTooShort);
  EXPECT_THROW(make_ruler_item(RulerTask::CommonWords, 64, sentences_, *tok_, 1, 0), RulerTooShort);
  EXPECT_THROW(make_ruler_item(RulerTask::NiahSingle, 1024, {"one two three."}, *tok_, 1, 0), Error);
  EXPECT_THROW(parse_ruler_task("niah"), Error);
}

TEST(RulerScore, StringMatchAllAndSentences) {
  EXPECT_DOUBLE_EQ(string_match_all("The numbers are 1234567 and 7654321.", {"1234567", "7654321"}), 1.0);
  EXPECT_DOUBLE_EQ(string_match_all("just 1234567", {"1234567", "7654321"}), 0.5);
  EXPECT_DOUBLE_EQ(string_match_all("abcde FGHIJ", {"ABCDE"}), 1.0);  // case-insensitive
  EXPECT_DOUBLE_EQ(string_match_all("", {"x"}), 0.0);
  EXPECT_EQ(split_sentences("Hi. One two three.  Four\nfive six! No"),
            (std::vector<std::string>{"One two three.", "Four five six!"}));
}

}  // namespace
}  // namespace hyb
