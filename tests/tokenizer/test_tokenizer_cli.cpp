// The tokenizer subcommands end to end: exact round trips through .npy, and one clear error line with a non-zero
// exit for each kind of bad input.
#include <gtest/gtest.h>

#include "core/npy.h"
#include "test_util.h"

namespace hyb {
namespace {

using test::quote;
using test::TempDir;

std::string hybrid() { return HYB_BIN; }
std::string ranks() { return quote(test::cl100k_ranks().string()); }

void expect_one_line_error(const test::RunResult& r, const std::string& needle) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
}

TEST(Cli, HelpForEverySubcommand) {
  for (const char* sub : {"tokenize", "detokenize", "tokenizer dolma2", "tokenizer train", "tokenizer"}) {
    const auto r = test::run(hybrid() + " " + sub + " --help");
    EXPECT_EQ(r.code, 0) << sub << ": " << r.err;
    EXPECT_NE(r.out.find("--"), std::string::npos) << sub;
  }
}

TEST(Cli, TokenizeDetokenizeRoundTrip) {
  HYB_REQUIRE_REFS();
  TempDir d;
  const std::string text = "Caf\xC3\xA9 \xF0\x9F\x98\x80\r\n<|endoftext|>  tabs\t\tend\n";
  test::write_file(d / "in.txt", text);
  auto r = test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --text 'Hello world'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9906 1917\n");
  r = test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --allow-special --text 'a<|endoftext|>'");
  EXPECT_EQ(r.out, "64 100257\n");
  r = test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --file " + quote(d / "in.txt") + " --out " +
                quote(d / "ids.npy"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run(hybrid() + " detokenize --tokenizer " + ranks() + " --ids " + quote(d / "ids.npy") + " --out " +
                quote(d / "back.txt"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::read_file(d / "back.txt"), text);
  r = test::run(hybrid() + " detokenize --tokenizer " + ranks() + " --id-list 9906,1917");
  EXPECT_EQ(r.out, "Hello world");
}

TEST(Cli, InvalidUtf8IsAnErrorUnlessLossy) {
  HYB_REQUIRE_REFS();
  TempDir d;
  test::write_file(d / "bad.txt", "ok \xFF\xFE bytes");
  expect_one_line_error(test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --file " + quote(d / "bad.txt")),
                        "invalid UTF-8 at byte 3");
  const auto r = test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --lossy --file " + quote(d / "bad.txt"));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto want = test::run(hybrid() + " tokenize --tokenizer " + ranks() + " --text " +
                              quote("ok \xEF\xBF\xBD\xEF\xBF\xBD bytes"));
  EXPECT_EQ(r.out, want.out);
}

TEST(Cli, MalformedTokenizerFiles) {
  TempDir d;
  test::write_file(d / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
  expect_one_line_error(test::run(hybrid() + " tokenize --tokenizer " + quote(d / "tokenizer.json") + " --text x"),
                        "tokenizer.json: not valid JSON");
  test::write_file(d / "r.tiktoken", "YQ== 0\nnot-base64 1\n");
  expect_one_line_error(test::run(hybrid() + " tokenize --tokenizer " + quote(d / "r.tiktoken") + " --text x"),
                        "r.tiktoken:2: token is not valid base64");
  expect_one_line_error(test::run(hybrid() + " tokenize --tokenizer " + quote(d / "none.json") + " --text x"),
                        "not found");
  expect_one_line_error(test::run(hybrid() + " tokenizer dolma2 --ranks " + quote(d / "r.tiktoken") + " --out " +
                                  quote(d / "o")),
                        "r.tiktoken:2");
}

TEST(Cli, UnknownIdsInDetokenize) {
  HYB_REQUIRE_REFS();
  TempDir d;
  const std::vector<int32_t> ids = {9906, 100300};
  npy_write_i32(d / "ids.npy", {2}, ids.data());
  expect_one_line_error(test::run(hybrid() + " detokenize --tokenizer " + ranks() + " --ids " + quote(d / "ids.npy")),
                        "100300");
  expect_one_line_error(test::run(hybrid() + " detokenize --tokenizer " + ranks() + " --id-list 1,-5"), "-5");
  expect_one_line_error(test::run(hybrid() + " detokenize --tokenizer " + ranks() + " --id-list 1,x"), "'x'");
}

}  // namespace
}  // namespace hyb
