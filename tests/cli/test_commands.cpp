// The CLI end to end: help everywhere, init → info → logits → generate.
#include <fstream>
#include <sstream>

#include "test_util.h"

using namespace hyb;
using namespace hyb::test;

TEST(Cli, HelpOnEveryCommand) {
  auto r = run(hybrid_bin() + " --help");
  EXPECT_EQ(r.code, 0);
  for (const char* c : {"info", "logits", "init", "generate"}) {
    EXPECT_NE(r.out.find(c), std::string::npos) << c;
    auto h = run(hybrid_bin() + " " + c + " --help");
    EXPECT_EQ(h.code, 0) << c << h.out;
    EXPECT_NE(h.out.find("--"), std::string::npos) << c;
  }
}

TEST(Cli, LogitsMatchGolden) {
  if (!have_golden()) GTEST_SKIP();
  TempDir d;
  auto r = run(hybrid_bin() + " logits -m " + golden_dir() + " --ids " + golden_dir() + "/ids_prefill.npy -o " +
               (d / "p.npy") + " --state-out " + (d / "s.npy"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LT(max_abs_diff(load_f32(d / "p.npy"), load_f32(golden_dir() + "/logits_prefill.npy")), 1e-4);
  EXPECT_LT(max_abs_diff(load_f32(d / "s.npy"), load_f32(golden_dir() + "/layer0_gdn_final_state.npy")), 1e-5);
  r = run(hybrid_bin() + " logits -m " + golden_dir() + " --ids " + golden_dir() + "/ids_prefill.npy -o " +
          (d / "d.npy") + " --decode-from 20");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<int64_t> shape;
  auto dec = load_f32(d / "d.npy", &shape);
  EXPECT_EQ(shape, (std::vector<int64_t>{17, 512}));
  EXPECT_LT(max_abs_diff(dec, load_f32(golden_dir() + "/logits_decode.npy")), 1e-4);
}

TEST(Cli, InitInfoGenerate) {
  TempDir d;
  std::ofstream(d / "c.json") << R"({"vocab_size": 300, "hidden_size": 32, "intermediate_size": 64,
    "num_hidden_layers": 4, "num_attention_heads": 2, "eos_token_id": 299, "initializer_range": 0.3})";
  auto r = run(hybrid_bin() + " init -c " + (d / "c.json") + " -o " + (d / "m") + " --seed 7 --dtype bf16");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run(hybrid_bin() + " info -m " + (d / "m"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("GGGA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BF16"), std::string::npos) << r.out;
  auto g1 = run(hybrid_bin() + " generate -m " + (d / "m") + " --prompt-ids 1,2,3 -n 12 --ignore-eos 2>/dev/null");
  auto g2 = run(hybrid_bin() + " generate -m " + (d / "m") + " --prompt-ids 1,2,3 -n 12 --ignore-eos 2>/dev/null");
  ASSERT_EQ(g1.code, 0) << g1.out;
  EXPECT_EQ(g1.out, g2.out);  // greedy is deterministic
  std::istringstream is(g1.out);
  int n = 0, id;
  while (is >> id) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 300);
    ++n;
  }
  EXPECT_EQ(n, 12);
  auto s = run(hybrid_bin() + " generate -m " + (d / "m") + " --prompt-ids 1,2,3 -n 12 --ignore-eos --temperature 1 "
               "--top-k 20 --top-p 0.9 --seed 4 2>/dev/null");
  EXPECT_EQ(s.code, 0) << s.out;
}
