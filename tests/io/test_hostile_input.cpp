// Hostile input: declared sizes that must be refused before anything is allocated or opened, and the bugs the
// fuzz targets (fuzz/) found, one regression test each. Every case must end in a clear hyb::Error (or a 4xx
// ApiError), never a crash, a huge allocation or a silently wrong value.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "core/error.h"
#include "core/json_parse.h"
#include "core/npy.h"
#include "io/checkpoint.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "serve/api_error.h"
#include "serve/request.h"
#include "test_util.h"
#include "tokenizer/tiktoken_file.h"
#include "tokenizer/tokenizer.h"
#include "train/run_config.h"
#include "train/token_shards.h"

using namespace hyb;
using namespace hyb::test;

namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char(uint64_t(header.size()) >> (8 * i));
  return out + header + data;
}

const char* kTinyConfig = R"({"vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
  "num_attention_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 16,
  "layer_types": ["linear_attention", "full_attention"]})";

}  // namespace

TEST(HostileInput, JsonNestedAMillionDeepIsRefusedEverywhere) {
  TempDir d;
  const std::string deep = nested(1000000);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(error_of([&] { parse_json(deep, "x"); }).find("nested deeper than 64"), std::string::npos);
  write(d / "config.json", deep);
  EXPECT_NE(error_of([&] { ModelConfig::load(d / "config.json"); }).find("config.json: not valid JSON (JSON nested deeper than 64"),
            std::string::npos);
  write(d / "m.safetensors", safetensors_bytes(deep));
  EXPECT_NE(error_of([&] { SafetensorsFile f(d / "m.safetensors"); }).find("nested deeper"), std::string::npos);
  write(d / "run.json", "{\"model\": " + deep + "}");
  EXPECT_NE(error_of([&] { RunConfig::load(d / "run.json"); }).find("nested deeper"), std::string::npos);
  try {
    serve::parse_body("{\"messages\": " + deep + "}");
    ADD_FAILURE() << "no error";
  } catch (const serve::ApiError& e) {
    EXPECT_EQ(e.status, 400);
  }
  // Brackets inside strings are text, not nesting.
  EXPECT_NO_THROW(parse_json("{\"a\": \"" + std::string(1000, '[') + "\"}", "x"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST(HostileInput, SafetensorsHeaderClaimingHugeTensorsIsRefused) {
  TempDir d;
  // 10^12 elements in a 40-byte data area: the size check fails; nothing is allocated (the data is mapped).
  write(d / "a.safetensors",
        safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 40]}})",
                          std::string(40, '\0')));
  EXPECT_NE(error_of([&] { SafetensorsFile f(d / "a.safetensors"); }).find("needs 4000000000000"), std::string::npos);
  // A product past 2^50 is refused as such, before it could overflow.
  write(d / "b.safetensors",
        safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 0]}})"));
  EXPECT_NE(error_of([&] { SafetensorsFile f(d / "b.safetensors"); }).find("shape too large"), std::string::npos);
  // A header length of 2^60 is refused before reading.
  write(d / "c.safetensors", std::string("\0\0\0\0\0\0\0\x10", 8) + "{}");
  EXPECT_NE(error_of([&] { SafetensorsFile f(d / "c.safetensors"); }).find("runs past the end"), std::string::npos);
}

TEST(HostileInput, ShardIndexListingAMillionFilesOpensNone) {
  TempDir d;
  write(d / "config.json", kTinyConfig);
  std::string idx = "{\"weight_map\": {";
  for (int i = 0; i < 1000000; ++i) {
    if (i) idx += ',';
    idx += str("\"t", i, "\": \"s", i, ".safetensors\"");
  }
  write(d / "model.safetensors.index.json", idx + "}}");
  const std::string e = error_of([&] { Checkpoint c(d.str()); });
  EXPECT_NE(e.find("names 1000000 shard files (more than 4096)"), std::string::npos) << e;
}

TEST(HostileInput, ShardIndexNamesMustBePlainFileNames) {
  TempDir d;
  write(d / "config.json", kTinyConfig);
  // The 300-byte name was found by fuzz_checkpoint_index: std::filesystem::exists threw ENAMETOOLONG as a
  // filesystem_error instead of the loader naming the field.
  for (const std::string& fn : std::vector<std::string>{"../x.safetensors", "", ".", "..", "a\\\\b", "a\\u0000b", std::string(300, 'x')}) {
    write(d / "model.safetensors.index.json", "{\"weight_map\": {\"t\": \"" + fn + "\"}}");
    const std::string e = error_of([&] { Checkpoint c(d.str()); });
    EXPECT_NE(e.find("not a plain file name in the checkpoint directory"), std::string::npos) << fn << ": " << e;
  }
}

// Found by fuzz_tiktoken's review of the loader: a single line "IQ== 1000000000" used to resize the token table to
// a billion strings (32 GB) before finding rank 0 missing.
TEST(HostileInput, TiktokenHugeRankAllocatesNothing) {
  TempDir d;
  write(d / "r.tiktoken", "IQ== 1000000000\n");
  EXPECT_NE(error_of([&] { read_tiktoken_ranks(d / "r.tiktoken"); }).find("rank 0 is missing"), std::string::npos);
  write(d / "r.tiktoken", "IQ== 0\nIg== 0\n");
  EXPECT_NE(error_of([&] { read_tiktoken_ranks(d / "r.tiktoken"); }).find(":2: rank 0 appears twice"),
            std::string::npos);
  write(d / "r.tiktoken", "Ig== 1\nIQ== 0\n");  // any order is fine
  EXPECT_EQ(read_tiktoken_ranks(d / "r.tiktoken"), (std::vector<std::string>{"!", "\""}));
}

// The .npy header used to be searched with regular expressions: "(-5,)" read as shape (5,), unknown keys were
// ignored, and libstdc++'s recursive regex engine could exhaust the stack on a long header.
TEST(HostileInput, NpyHeaderIsParsedStrictly) {
  TempDir d;
  auto npy = [&](const std::string& dict, size_t data_bytes) {
    std::string h = dict;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += char(h.size() & 0xff);
    out += char(h.size() >> 8);
    write(d / "x.npy", out + h + std::string(data_bytes, '\0'));
    return d / "x.npy";
  };
  EXPECT_EQ(npy_read(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", 20)).shape,
            (std::vector<int64_t>{5}));
  EXPECT_EQ(npy_read(npy("{\"shape\": (), \"descr\": \"<f4\"}", 4)).shape, std::vector<int64_t>{});
  EXPECT_NE(error_of([&] { npy_read(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (-5,), }", 20)); })
                .find("non-negative integers"),
            std::string::npos);
  EXPECT_NE(error_of([&] { npy_read(npy("{'descr': '<i4', 'shape': (5,), 'extra': 1}", 20)); }).find("unexpected"),
            std::string::npos);
  EXPECT_NE(error_of([&] { npy_read(npy("{'descr': '<i4', 'shape': (5,)} trailing", 20)); }).find("trailing"),
            std::string::npos);
  EXPECT_NE(error_of([&] { npy_read(npy("{'descr': '<i4', 'shape': (5,), 'descr': '<f4'}", 20)); })
                .find("repeated"),
            std::string::npos);
  // A 60,000-byte header (the regex engine's stack killer) is refused by size.
  EXPECT_NE(error_of([&] { npy_read(npy("{'descr': '" + std::string(60000, 'x') + "', 'shape': (1,)}", 4)); })
                .find("implausibly large"),
            std::string::npos);
}

// Found by fuzz_run_config: a RUN.json whose top level is not an object threw nlohmann's invalid_iterator (the
// CLI printed "[json.exception.invalid_iterator.207] cannot use key() for non-object iterators" with no file name);
// wrongly typed fields threw type_error; 1e20 threads was converted to an int (undefined behaviour).
TEST(HostileInput, RunConfigFieldsAreTypedAndNamed) {
  TempDir d;
  auto load_error = [&](const std::string& text) {
    write(d / "run.json", text);
    return error_of([&] { RunConfig::load(d / "run.json"); });
  };
  EXPECT_NE(load_error("[1, 2]").find("run.json: expected a JSON object"), std::string::npos);
  EXPECT_NE(load_error(R"({"model": {}, "data": "d", "steps": "ten"})").find("field 'steps' must be an integer"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"model": {}, "data": "d", "threads": 1e20})").find("field 'threads'"), std::string::npos);
  EXPECT_NE(load_error(R"({"model": {}, "data": 5})").find("field 'data' must be a string"), std::string::npos);
  EXPECT_NE(load_error(R"({"model": {}, "data": "d", "lr": "fast"})").find("field 'lr' must be a finite number"),
            std::string::npos);
  write(d / "run.json", R"({"model": {"preset": "hybrid", "num_hidden_layers": 1000000000000}, "data": "d"})");
  const RunConfig rc = RunConfig::load(d / "run.json");
  EXPECT_NE(error_of([&] { resolve_model(rc.model, d / "run.json", 100, 98, 99); }).find("num_hidden_layers"),
            std::string::npos);
  EXPECT_NE(error_of([&] { resolve_model(nlohmann::json{{"preset", 3}}, d / "run.json", 100, 98, 99); })
                .find("field 'preset' must be a string"),
            std::string::npos);
}

// Matched-size baselines: the SwiGLU width search is solved in closed form now (it scanned every multiple of 16 up
// to 16·hidden_size, building a config each time: minutes for a wide model). Same answer as the scan.
TEST(HostileInput, MatchedBaselineWidthEqualsTheScan) {
  for (const char* kind : {"transformer", "gdn"}) {
    const nlohmann::json m = {{"preset", kind}, {"hidden_size", 128}, {"num_hidden_layers", 4}};
    const ModelConfig got = resolve_model(m, "run.json", 1000, 998, 999);
    nlohmann::json h = m;
    h["preset"] = "hybrid";
    auto count = [](const ModelConfig& c) {
      int64_t n = 0;
      for (const auto& p : canonical_params(c)) n += p.numel();
      return n;
    };
    const int64_t target = count(resolve_model(h, "run.json", 1000, 998, 999));
    int64_t best = 0, best_diff = INT64_MAX;
    for (int64_t I = 16; I <= 16 * 128; I += 16) {
      nlohmann::json e = m;
      e["intermediate_size"] = I;
      const int64_t diff = std::llabs(count(resolve_model(e, "run.json", 1000, 998, 999)) - target);
      if (diff < best_diff) best_diff = diff, best = I;
    }
    EXPECT_EQ(got.intermediate_size, best) << kind;
  }
}

TEST(HostileInput, ModelConfigSizesAreBounded) {
  auto err = [](const std::string& text) {
    return error_of([&] { ModelConfig::from_json(nlohmann::json::parse(text), "config.json"); });
  };
  EXPECT_NE(err(R"({"hidden_size": 1099511627776})").find("field 'hidden_size' must be an integer in [1, 1048576]"),
            std::string::npos);
  EXPECT_NE(err(R"({"vocab_size": 4294967301})").find("field 'vocab_size'"), std::string::npos);
  EXPECT_NE(err(R"({"num_hidden_layers": 100000})").find("field 'num_hidden_layers'"), std::string::npos);
  EXPECT_NE(err(R"({"eos_token_id": ["a"]})").find("field 'eos_token_id'"), std::string::npos);
  EXPECT_NE(err(R"({"eos_token_id": 18446744073709551615})").find("field 'eos_token_id'"), std::string::npos);
  EXPECT_NE(err("[]").find("top level must be a JSON object"), std::string::npos);
}

TEST(HostileInput, TokenManifestValuesAreChecked) {
  TempDir d;
  const uint16_t tok[4] = {0, 1, 2, 3};
  write(d / "train-00000.bin", std::string(reinterpret_cast<const char*>(tok), sizeof tok));
  auto manifest = [&](const std::string& vocab, const std::string& file, const std::string& tokens) {
    write(d / "manifest.json",
          R"({"format": "hybrid-tokens-v1", "vocab_size": )" + vocab +
              R"(, "eos_token_id": 0, "dtype": "uint16", "train": {"shards": [{"file": ")" + file +
              R"(", "tokens": )" + tokens + R"(, "checksum": "0"}]}, "val": {"shards": []}})");
    return error_of([&] { TokenData::open(d.str()); });
  };
  // 2^32 + 5 used to be read as vocabulary 5 (nlohmann's get<int32_t> truncates).
  EXPECT_NE(manifest("4294967301", "train-00000.bin", "4").find("field 'vocab_size'"), std::string::npos);
  EXPECT_NE(manifest("10", "../train-00000.bin", "4").find("not a file name inside the data directory"),
            std::string::npos);
  EXPECT_NE(manifest("10", "train-00000.bin", "-4").find("field 'tokens'"), std::string::npos);
  // n · width used to overflow int64 before the size comparison.
  EXPECT_NE(manifest("10", "train-00000.bin", "9223372036854775807").find("field 'tokens'"), std::string::npos);
  EXPECT_NE(manifest("10", "train-00000.bin", "4").find("checksum does not match"), std::string::npos);
}

// Found while moving /tokenize's body parsing where fuzz_serve_request reaches it: a non-boolean "add_special"
// threw nlohmann's type_error, which the server answered with 500 (an internal error for a client mistake).
TEST(HostileInput, TokenizeRequestFieldsAreClientErrors) {
  auto status = [](const std::string& body) {
    try {
      serve::parse_tokenize_request(serve::parse_body(body));
    } catch (const serve::ApiError& e) {
      return e.status;
    }
    return 200;
  };
  EXPECT_EQ(status(R"({"content": "hi", "add_special": "yes"})"), 400);
  EXPECT_EQ(status(R"({"content": "hi", "parse_special": 1})"), 400);
  EXPECT_EQ(status(R"({"content": 5})"), 400);
  EXPECT_EQ(status(R"({"content": "\ud800"})"), 400);  // a lone surrogate is not valid UTF-8 once decoded
  EXPECT_EQ(status(R"([1])"), 400);
  EXPECT_EQ(status(R"({"content": "hi", "add_special": true})"), 200);
}
