// Unit tests: UTF-8, base64, byte-level alphabet, BPE merge loop against a literal tiktoken-style reference,
// long pieces, added tokens, streaming decode, chat template, rank/JSON loaders and the trainer.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tiktoken_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"
#include "tokenizer/utf8.h"

namespace hyb {
namespace {

using test::TempDir;

const Tokenizer& cl100k() {
  static const Tokenizer t = Tokenizer::from_tiktoken(test::cl100k_ranks().string());
  return t;
}

TEST(Utf8, ValidationAndLossyReplacement) {
  EXPECT_EQ(utf8_find_invalid("plain ascii"), std::string::npos);
  EXPECT_EQ(utf8_find_invalid("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(utf8_find_invalid("ab\xFF"), 2u);
  EXPECT_EQ(utf8_find_invalid("\xC0\xAF"), 0u);          // overlong
  EXPECT_EQ(utf8_find_invalid("\xED\xA0\x80"), 0u);      // surrogate
  EXPECT_EQ(utf8_find_invalid("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8_find_invalid("x\xE2\x82"), 1u);         // truncated
  // Maximal subparts: E2 82 is one replacement, a lone continuation byte another.
  EXPECT_EQ(utf8_lossy("a\xE2\x82" "b\x80" "c"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), "\xEF\xBF\xBD");
}

TEST(Base64, RoundTripAndRejection) {
  std::string out;
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xFF\x00\x10"}) {
    if (s.empty()) continue;
    ASSERT_TRUE(base64_decode(base64_encode(s), out));
    EXPECT_EQ(out, s);
  }
  EXPECT_FALSE(base64_decode("abc", out));
  EXPECT_FALSE(base64_decode("ab!d", out));
  EXPECT_FALSE(base64_decode("a=bc", out));
}

TEST(ByteLevel, AllBytesRoundTrip) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  const std::string text = bytes_to_byte_level(all);
  std::string back;
  ASSERT_TRUE(byte_level_to_bytes(text, back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(bytes_to_byte_level(" \n"), "\xC4\xA0\xC4\x8A");  // "ĠĊ", as in every GPT-2 style vocabulary
  EXPECT_FALSE(byte_level_to_bytes("\xE2\x82\xAC", back));    // '€' is not in the alphabet
}

TEST(PreTokenizer, WhiteSpaceRewriteAndSplit) {
  EXPECT_EQ(pcre2_compatible_pattern("a\\sb[^\\s\\p{L}]\\S"),
            "a[\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
            "\\x{3000}]b[^\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
            "\\x{205F}\\x{3000}\\p{L}][^\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}"
            "\\x{2029}\\x{202F}\\x{205F}\\x{3000}]");
  PreTokenizer pre(kCl100kPattern);
  std::vector<std::string> pieces;
  pre.split("Hello, world!  It's 12345\r\n\n  x", [&](std::string_view p) { pieces.emplace_back(p); });
  const std::vector<std::string> want = {"Hello", ",", " world", "!", " ", " It", "'s", " ", "123", "45", "\r\n\n", " ", " x"};
  EXPECT_EQ(pieces, want);
  EXPECT_THROW(PreTokenizer("(unclosed"), Error);
}

// The merge loop exactly as tiktoken writes it: rescan for the lowest-ranked adjacent pair, leftmost first.
std::vector<int32_t> reference_merge(const BpeModel& m, std::string_view piece) {
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  while (parts.size() > 1) {
    int64_t best = INT64_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const int32_t r = m.find(parts[i] + parts[i + 1]);
      if (r >= 0 && r < best) {
        best = r;
        at = i;
      }
    }
    if (best == INT64_MAX) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + long(at) + 1);
  }
  std::vector<int32_t> ids;
  for (auto& p : parts) ids.push_back(m.find(p));
  return ids;
}

TEST(Bpe, MergeLoopMatchesLiteralReference) {
  HYB_REQUIRE_REFS();
  const BpeModel& m = cl100k().model();
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz     ETAOINthe ing tion   \n\n\t";
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 2 + rng() % 80;  // both the small-piece loop and the heap path
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    std::vector<int32_t> got;
    m.encode_piece(s, got);
    ASSERT_EQ(got, reference_merge(m, s)) << "piece '" << s << "'";
  }
}

TEST(Bpe, LongPiecesAreNotQuadratic) {
  HYB_REQUIRE_REFS();
  // One 200 kB letter run is a single regex piece: a quadratic merge would take minutes.
  std::mt19937 rng(1);
  std::string blob;
  for (int i = 0; i < 200000; ++i) blob += char('a' + rng() % 26);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = cl100k().encode(blob);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 5.0);
  EXPECT_EQ(cl100k().decode(ids), blob);
  std::vector<int32_t> whole;
  cl100k().model().encode_piece(blob.substr(0, 3000), whole);
  EXPECT_EQ(whole, reference_merge(cl100k().model(), blob.substr(0, 3000)));
  const std::string spaces(100000, ' ');
  EXPECT_EQ(cl100k().decode(cl100k().encode(spaces + "x")), spaces + "x");
}

TEST(Tokenizer, OrdinaryVersusSpecial) {
  HYB_REQUIRE_REFS();
  const Tokenizer& t = cl100k();
  EXPECT_EQ(t.encode("<|endoftext|>"), (std::vector<int32_t>{27, 91, 8862, 728, 428, 91, 29}));
  EXPECT_EQ(t.encode_with_special("<|endoftext|>"), (std::vector<int32_t>{100257}));
  EXPECT_EQ(t.encode("2023"), (std::vector<int32_t>{2366, 18}));
  EXPECT_EQ(t.encode("650841823"), (std::vector<int32_t>{13655, 25496, 23848}));
  EXPECT_EQ(t.encode("<think>\nOkay"), (std::vector<int32_t>{14023, 771, 397, 33413}));
  EXPECT_EQ(t.encode_with_special("<|im_start|>user\nWhat is 2023+1?<|im_end|>"),
            (std::vector<int32_t>{100264, 882, 198, 3923, 374, 220, 2366, 18, 10, 16, 30, 100265}));
  EXPECT_EQ(t.encode_with_special("a|||PHONE_NUMBER|||b<|pad|>"), (std::vector<int32_t>{64, 100261, 65, 100277}));
  EXPECT_EQ(t.token_id("<|endoftext|>"), 100257);
  EXPECT_EQ(t.eos_id(), 100257);
  EXPECT_EQ(t.vocab_size(), 100278);
  EXPECT_EQ(t.stop_ids(true), (std::vector<int32_t>{100257, 100265}));
  EXPECT_THROW(t.encode("bad \xFF byte"), Error);
  EXPECT_THROW(t.decode(std::vector<int32_t>{100278}), Error);
  EXPECT_THROW(t.decode(std::vector<int32_t>{-1}), Error);
}

TEST(StreamDecoder, HoldsIncompleteCharacters) {
  HYB_REQUIRE_REFS();
  const Tokenizer& t = cl100k();
  const std::string text = "naïve café 😀👨‍👩‍👧 日本語 done";
  StreamDecoder d(t);
  std::string streamed;
  for (int32_t id : t.encode(text)) {
    const std::string piece = d.push(id);
    EXPECT_EQ(utf8_find_invalid(piece), std::string::npos);  // never a broken character
    streamed += piece;
  }
  streamed += d.finish();
  EXPECT_EQ(streamed, text);

  // Bytes pushed one at a time through byte tokens: nothing comes out until the character is complete.
  const std::string smile = "\xF0\x9F\x98\x80";
  StreamDecoder d2(t);
  for (size_t i = 0; i + 1 < smile.size(); ++i)
    EXPECT_EQ(d2.push(t.model().find(smile.substr(i, 1))), "");
  EXPECT_EQ(d2.push(t.model().find(smile.substr(3, 1))), smile);
  // An incomplete tail becomes U+FFFD only at the end; a byte that can never be valid is replaced at once.
  EXPECT_EQ(d2.push(t.model().find("\xF0")), "");
  EXPECT_EQ(d2.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(d2.push(t.model().find("\xFF")), "\xEF\xBF\xBD");
}

TEST(ChatTemplate, RendersSpecExamples) {
  EXPECT_EQ(render_chat({{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful function-calling AI assistant. You do not currently have access to "
            "any functions. <functions></functions><|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  ChatOptions o;
  o.add_generation_prompt = false;
  EXPECT_EQ(render_chat({{"system", "Be brief.", "get()"}, {"user", "Q"}, {"assistant", "A"}, {"user", "Q2"},
                         {"assistant", "A2", "", "f(x=1)"}},
                        o),
            "<|im_start|>system\nBe brief. <functions>get()</functions><|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
            "<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\nA2"
            "<function_calls>f(x=1)</function_calls><|endoftext|>");
  EXPECT_EQ(render_chat({{"tool", "42"}}, o).substr(0, 14), "<|im_start|>sy");
  EXPECT_THROW(render_chat({{"robot", "x"}}), Error);
}

TEST(Loaders, MalformedRankFiles) {
  TempDir d;
  auto expect_fail = [&](const std::string& content, const std::string& what) {
    const std::string p = d / "bad.tiktoken";
    test::write_file(p, content);
    try {
      Tokenizer::from_tiktoken(p);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.tiktoken"), std::string::npos) << e.what();
    }
  };
  expect_fail("", "empty");
  expect_fail("YQ== 0\nYg== x\n", "non-integer rank");
  expect_fail("YQ== 0\n!!!! 1\n", "bad base64");
  expect_fail("YQ== 0\nYg== 2\n", "gap in ranks");
  expect_fail("YQ== 0\nYQ== 1\n", "duplicate token");
  expect_fail("YQ==\n", "missing rank");
  expect_fail("YQ== 0\nYg== 1\n", "bytes without tokens");
  EXPECT_THROW(Tokenizer::load(d / "missing.tiktoken"), Error);
}

TEST(Loaders, MalformedTokenizerJson) {
  TempDir d;
  const std::string ok_vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])";
  const std::string pre =
      R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, "decoder": {"type": "ByteLevel"})";
  auto attempt = [&](const std::string& content) {
    const std::string p = d / "tokenizer.json";
    test::write_file(p, content);
    return Tokenizer::from_hf_json(p);
  };
  // A minimal valid file loads (bytes outside the vocabulary only fail when encoded).
  const Tokenizer t = attempt("{\"model\": {\"type\": \"BPE\", " + ok_vocab + "}, " + pre + "}");
  EXPECT_EQ(t.encode("ab"), (std::vector<int32_t>{2}));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"model\": ", "not valid JSON"},
      {"[]", "JSON object"},
      {"{\"model\": {\"type\": \"WordPiece\", " + ok_vocab + "}, " + pre + "}", "model.type"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}, " + pre + "}", "merges[0]"},
      {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}, " + pre + "}", "not an integer"},
      {"{\"model\": {\"type\": \"BPE\", " + ok_vocab + "}}", "pre_tokenizer"},
      {"{\"normalizer\": {\"type\": \"NFC\"}, \"model\": {\"type\": \"BPE\", " + ok_vocab + "}, " + pre + "}", "normalizer"},
      {"{\"model\": {\"type\": \"BPE\", " + ok_vocab + "}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
       "{\"Regex\": \"(\"}, \"behavior\": \"Removed\", \"invert\": true}}",
       "regex"},
      {"{\"added_tokens\": [{\"id\": 2, \"content\": \"<x>\"}], \"model\": {\"type\": \"BPE\", " + ok_vocab + "}, " + pre +
           "}",
       "id 2"},
  };
  for (const auto& [content, needle] : bad) {
    try {
      attempt(content);
      ADD_FAILURE() << "accepted: " << content;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line error: " << msg;
    }
  }
}

// Found by fuzz_tokenizer_json: a split regex that covers only part of the text (here: letters) made encode drop
// the rest silently, so decode(encode(x)) != x. HF's Split "Removed" + invert drops it too; we refuse instead.
// Split "Isolated" keeps the text between matches as pieces of their own, as HF does (before, it was dropped too).
TEST(PreTokenizer, TextNoMatchCoversIsRefusedOrIsolated) {
  std::vector<std::string> pieces;
  auto collect = [&](std::string_view p) { pieces.emplace_back(p); };
  PreTokenizer removed("[a-z]+");
  removed.split("abc", collect);
  EXPECT_EQ(pieces, (std::vector<std::string>{"abc"}));
  try {
    removed.split("ab, cd", collect);
    ADD_FAILURE() << "dropped text silently";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bytes 2-3"), std::string::npos) << e.what();
  }
  pieces.clear();
  PreTokenizer empty_match("[a-z]*");  // empty matches at ',' and ' ': those characters are gaps as well
  EXPECT_THROW(empty_match.split("ab, cd", collect), Error);
  pieces.clear();
  PreTokenizer isolated("[a-z]+", /*keep_gaps=*/true);
  isolated.split("ab, cd!", collect);
  EXPECT_EQ(pieces, (std::vector<std::string>{"ab", ", ", "cd", "!"}));

  TempDir d;
  const std::string vocab = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, ",": 2, "\u0120": 3}, "merges": []})";
  auto load = [&](const char* behavior, bool invert) {
    test::write_file(d / "tokenizer.json",
                     std::string("{") + vocab + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[ab]+"}, "behavior": ")" +
                         behavior + "\", \"invert\": " + (invert ? "true" : "false") + "}}");
    return Tokenizer::from_hf_json(d / "tokenizer.json");
  };
  const Tokenizer iso = load("Isolated", false);
  EXPECT_EQ(iso.decode(iso.encode("ab, ba")), "ab, ba");
  EXPECT_EQ(iso.encode("ab, ba"), (std::vector<int32_t>{0, 1, 2, 3, 1, 0}));
  const Tokenizer rem = load("Removed", true);
  EXPECT_EQ(rem.encode("abba"), (std::vector<int32_t>{0, 1, 1, 0}));
  EXPECT_THROW(rem.encode("ab, ba"), Error);
}

TEST(Trainer, LearnsMergesAndRoundTrips) {
  TempDir d;
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "the cat sat on the mat. The theory of the thing is that there are three thin threads.\n";
  text += "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n";
  test::write_file(d / "a.txt", text);
  BpeTrainOptions opt;
  opt.vocab_size = 280;
  BpeTrainStats st;
  HfBpeTokenizer h = train_bpe({d / "a.txt"}, opt, &st);
  EXPECT_EQ(h.tokens.size() + h.added.size(), 280u);
  EXPECT_EQ(h.added.back().content, "<|pad|>");
  EXPECT_EQ(h.added.back().id, 279);
  EXPECT_GT(st.distinct_pieces, 10);
  TokenizerConfig cfg;
  cfg.eos_token = kEndOfText;
  write_hf_tokenizer(d.path().string(), h, cfg, 4096);
  const Tokenizer t = Tokenizer::load(d.path().string());
  const auto ids = t.encode(text);
  EXPECT_LT(ids.size(), text.size() / 2);  // 24 merges already halve the repeated text
  EXPECT_EQ(t.decode(ids), text);
  EXPECT_EQ(t.encode(" the"), (std::vector<int32_t>{t.token_id(" the")}));
  EXPECT_EQ(t.encode_with_special("x<|im_end|>").back(), t.token_id("<|im_end|>"));
  EXPECT_EQ(t.eos_id(), 276);
  // Deterministic: the same input gives the same merges.
  EXPECT_EQ(train_bpe({d / "a.txt"}, opt, nullptr).merges, h.merges);
}

}  // namespace
}  // namespace hyb
