#include "train/token_shards.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/file_name.h"
#include "core/json_parse.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/read_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace hyb {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "hybrid-tokens-v1";

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// Paragraphs: maximal runs of lines that are not blank. Leading/trailing blank lines are dropped.
std::vector<std::string_view> split_paragraphs(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0, start = std::string_view::npos, last_end = 0;
  while (i <= text.size()) {
    size_t e = text.find('\n', i);
    if (e == std::string_view::npos) e = text.size();
    std::string_view line = text.substr(i, e - i);
    const bool blank = line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
    if (!blank) {
      if (start == std::string_view::npos) start = i;
      last_end = e;
    } else if (start != std::string_view::npos) {
      out.push_back(text.substr(start, last_end - start));
      start = std::string_view::npos;
    }
    i = e + 1;
  }
  if (start != std::string_view::npos) out.push_back(text.substr(start, last_end - start));
  return out;
}

// Accumulates one split's tokens and writes full shards as it goes.
class ShardWriter {
 public:
  ShardWriter(std::string dir, std::string name, int width, int64_t shard_tokens)
      : dir_(std::move(dir)), name_(std::move(name)), width_(width), shard_tokens_(shard_tokens) {}

  void append(const std::vector<int32_t>& ids, int32_t eos) {
    for (int32_t id : ids) push(id);
    push(eos);
  }
  // Entropy in nats/token of this split's own unigram distribution: the loss of the best context-free model,
  // a baseline a trained LM must beat.
  double unigram_entropy() const {
    double h = 0;
    for (int64_t c : counts_)
      if (c > 0) h -= double(c) / double(total_) * std::log(double(c) / double(total_));
    return h;
  }
  nlohmann::json finish() {
    if (!buf_.empty() || shards_.empty()) flush();
    return {{"tokens", total_}, {"documents", docs_}, {"shards", shards_}};
  }
  int64_t tokens() const { return total_; }
  int64_t docs_ = 0;

 private:
  void push(int32_t id) {
    if (size_t(id) >= counts_.size()) counts_.resize(size_t(id) + 1);
    ++counts_[size_t(id)];
    buf_.push_back(uint32_t(id));
    ++total_;
    if (int64_t(buf_.size()) == shard_tokens_) flush();
  }
  void flush() {
    char file[64];
    std::snprintf(file, sizeof file, "%s-%05zu.bin", name_.c_str(), shards_.size());
    std::vector<uint8_t> bytes(buf_.size() * size_t(width_));
    for (size_t i = 0; i < buf_.size(); ++i) {
      if (width_ == 2) {
        const uint16_t v = uint16_t(buf_[i]);
        std::memcpy(bytes.data() + 2 * i, &v, 2);  // little-endian hosts only (x86-64, arm64)
      } else {
        std::memcpy(bytes.data() + 4 * i, &buf_[i], 4);
      }
    }
    AtomicFile f((fs::path(dir_) / file).string());
    f.write(bytes.data(), bytes.size());
    f.commit();
    shards_.push_back({{"file", file}, {"tokens", int64_t(buf_.size())},
                       {"checksum", hex64(shard_checksum(bytes.data(), bytes.size()))}});
    buf_.clear();
  }
  std::string dir_, name_;
  int width_;
  int64_t shard_tokens_, total_ = 0;
  std::vector<uint32_t> buf_;
  std::vector<int64_t> counts_;
  nlohmann::json shards_ = nlohmann::json::array();
};

void copy_tokenizer(const std::string& tok, const std::string& out) {
  const fs::path src = fs::is_directory(tok) ? fs::path(tok) : fs::path(tok).parent_path();
  const fs::path json = fs::is_directory(tok) ? src / "tokenizer.json" : fs::path(tok);
  if (json.extension() != ".json") fail(tok, ": prepare needs an HF tokenizer.json (or its directory)");
  fs::copy_file(json, fs::path(out) / "tokenizer.json", fs::copy_options::overwrite_existing);
  if (fs::exists(src / "tokenizer_config.json"))
    fs::copy_file(src / "tokenizer_config.json", fs::path(out) / "tokenizer_config.json",
                  fs::copy_options::overwrite_existing);
}

}  // namespace

uint64_t shard_checksum(const uint8_t* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}

PrepareStats prepare_tokens(const PrepareOptions& opt) {
  if (opt.val_fraction < 0 || opt.val_fraction >= 1)
    fail("--val-fraction: must lie in [0, 1), got ", opt.val_fraction);
  if (opt.inputs.empty()) fail("--input: no input files");
  const Tokenizer tok = Tokenizer::load(opt.tokenizer);
  const auto eos = tok.eos_id();
  if (!eos) fail(opt.tokenizer, ": tokenizer has no EOS token (documents are separated by EOS)");
  std::error_code ec;
  fs::create_directories(opt.out, ec);
  if (!fs::is_directory(opt.out)) fail(opt.out, ": cannot create output directory");
  fs::remove(fs::path(opt.out) / "manifest.json", ec);  // the manifest marks a complete directory: written last

  PrepareStats st;
  st.vocab_size = tok.vocab_size();
  const int width = tok.vocab_size() <= 65536 ? 2 : 4;
  st.dtype = width == 2 ? "uint16" : "uint32";
  ShardWriter train(opt.out, "train", width, opt.shard_tokens), val(opt.out, "val", width, opt.shard_tokens);

  // The validation threshold on a 53-bit hash of (seed, document index): deterministic and order-preserving.
  const uint64_t threshold = uint64_t(opt.val_fraction * double(uint64_t(1) << 53));
  int64_t doc_index = 0;
  nlohmann::json sources = nlohmann::json::array();
  nlohmann::json val_names = nlohmann::json::array();
  for (const std::string& v : opt.val_files) val_names.push_back(fs::path(v).filename().string());
  for (const std::string& v : opt.val_files)
    if (std::find(opt.inputs.begin(), opt.inputs.end(), v) == opt.inputs.end())
      fail("--val-files: ", v, " is not one of the --input files");
  for (const std::string& path : opt.inputs) {
    const bool held_out = std::find(opt.val_files.begin(), opt.val_files.end(), path) != opt.val_files.end();
    std::string text = read_file(path, "input file");
    st.bytes += int64_t(text.size());
    if (utf8_find_invalid(text) != std::string_view::npos) text = utf8_lossy(text);
    std::vector<std::string_view> docs;
    if (opt.documents_are_files) {
      if (text.find_first_not_of(" \t\r\n") != std::string::npos) docs.push_back(text);
    } else {
      docs = split_paragraphs(text);
    }
    const auto ids = tok.encode_batch(docs);
    for (const auto& d : ids) {
      const bool is_val = held_out || (mix64(opt.seed ^ mix64(uint64_t(doc_index))) >> 11) < threshold;
      ShardWriter& w = is_val ? val : train;
      w.append(d, *eos);
      ++w.docs_;
      ++doc_index;
    }
    sources.push_back({{"file", fs::path(path).filename().string()}, {"bytes", int64_t(text.size())},
                       {"documents", int64_t(docs.size())}, {"split", held_out ? "val" : "documents"}});
  }
  if (train.tokens() == 0) fail("--input: no text found in the input files");
  st.train_tokens = train.tokens();
  st.val_tokens = val.tokens();
  st.train_docs = train.docs_;
  st.val_docs = val.docs_;
  st.val_unigram_entropy = val.tokens() ? val.unigram_entropy() : 0.0;
  nlohmann::json m = {{"format", kFormat},
                      {"vocab_size", tok.vocab_size()},
                      {"eos_token_id", *eos},
                      {"pad_token_id", tok.config().pad_token.empty() ? -1 : tok.token_id(tok.config().pad_token)},
                      {"dtype", st.dtype},
                      {"documents", opt.documents_are_files ? "files" : "paragraphs"},
                      {"val_fraction", opt.val_fraction},
                      {"val_files", val_names},
                      {"seed", opt.seed},
                      {"tokenizer", "tokenizer.json"},
                      {"sources", sources},
                      {"val_unigram_entropy", st.val_unigram_entropy},
                      {"train", train.finish()},
                      {"val", val.finish()}};
  copy_tokenizer(opt.tokenizer, opt.out);
  const std::string s = m.dump(2) + "\n";
  AtomicFile f((fs::path(opt.out) / "manifest.json").string());
  f.write(s.data(), s.size());
  f.commit();
  return st;
}

void TokenSplit::read_labels(size_t s, int64_t pos, int64_t n, int32_t* out) const {
  std::memcpy(out, shards_[s].labels->data() + size_t(pos) * 4, size_t(n) * 4);
}

void TokenSplit::read(size_t s, int64_t pos, int64_t n, int32_t* out) const {
  const uint8_t* p = shards_[s].file->data() + size_t(pos) * size_t(width_);
  if (width_ == 2) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      out[i] = int32_t(v);
    }
  } else {
    std::memcpy(out, p, size_t(n) * 4);
  }
}

TokenData TokenData::open(const std::string& dir) {
  TokenData d;
  d.dir_ = dir;
  const fs::path mpath = fs::path(dir) / "manifest.json";
  if (!fs::exists(mpath))
    fail(mpath.string(), ": missing (not a prepared data directory; run `hybrid prepare`, which writes it last)");
  try {
    d.manifest_ = read_json_file(mpath.string(), size_t(64) << 20);
    const JsonFields m(d.manifest_, mpath.string());
    if (m.string("format", "") != kFormat) fail(mpath.string(), ": format is not ", kFormat);
    if (!m.has("vocab_size") || !m.has("eos_token_id")) fail(mpath.string(), ": vocab_size and eos_token_id are required");
    d.vocab_size_ = int32_t(m.integer("vocab_size", 0, 1, INT32_MAX));
    d.eos_id_ = int32_t(m.integer("eos_token_id", 0, 0, d.vocab_size_ - 1));
    d.pad_id_ = int32_t(m.integer("pad_token_id", -1, -1, d.vocab_size_ - 1));
    const std::string dtype = m.string("dtype", "");
    if (dtype != "uint16" && dtype != "uint32") fail(mpath.string(), ": dtype must be uint16 or uint32, got ", dtype);
    const int width = dtype == "uint16" ? 2 : 4;
    const int64_t record = m.integer("record", 0, 0, INT32_MAX);
    // Shard paths must stay inside the data directory: plain file names only.
    auto shard_path = [&](const nlohmann::json& v, const char* what) {
      if (!v.is_string()) fail(mpath.string(), ": ", what, " must be a file name");
      const std::string fn = v.get<std::string>();
      if (!is_plain_file_name(fn))
        fail(mpath.string(), ": ", what, " ", json_excerpt(fn), " is not a file name inside the data directory");
      return (fs::path(dir) / fn).string();
    };
    for (auto [name, split] : {std::pair{"train", &d.train_}, {"val", &d.val_}}) {
      split->width_ = width;
      split->record_ = record;
      if (!d.manifest_.contains(name) || !d.manifest_[name].is_object() || !d.manifest_[name].contains("shards") ||
          !d.manifest_[name]["shards"].is_array())
        fail(mpath.string(), ": '", name, ".shards' must be a list");
      const auto& shards = d.manifest_[name]["shards"];
      if (shards.size() > 100000) fail(mpath.string(), ": '", name, ".shards' lists ", shards.size(), " files");
      split->has_labels_ = !shards.empty() && shards[0].is_object() && shards[0].contains("labels");
      for (const auto& sh : shards) {
        const JsonFields sf(sh, mpath.string() + ": " + name + ".shards[]");
        const std::string file = shard_path(sh.contains("file") ? sh["file"] : nlohmann::json(), "shard 'file'");
        if (!sf.has("tokens")) sf.bad("tokens", "a token count");
        const int64_t n = sf.integer("tokens", 0, 0, int64_t(1) << 40);
        if (!fs::exists(file)) fail(file, ": shard listed in manifest.json is missing");
        auto mf = std::make_unique<MappedFile>(file);
        if (int64_t(mf->size()) != n * width)
          fail(file, ": corrupt shard: ", mf->size(), " bytes, manifest says ", n, " ", dtype, " tokens (",
               n * width, " bytes)");
        if (hex64(shard_checksum(mf->data(), mf->size())) != sf.string("checksum", ""))
          fail(file, ": corrupt shard: checksum does not match manifest.json");
        if (record > 0 && n % record)
          fail(file, ": ", n, " tokens is not a whole number of records of ", record);
        std::unique_ptr<MappedFile> lf;
        if (sh.contains("labels") != split->has_labels_)
          fail(file, ": every shard of a split must have labels, or none");
        if (split->has_labels_) {
          const JsonFields lf_fields(sh["labels"], mpath.string() + ": " + name + ".shards[].labels");
          const std::string lfile = shard_path(sh["labels"].contains("file") ? sh["labels"]["file"] : nlohmann::json(),
                                               "labels 'file'");
          if (!fs::exists(lfile)) fail(lfile, ": labels listed in manifest.json are missing");
          lf = std::make_unique<MappedFile>(lfile);
          if (int64_t(lf->size()) != n * 4)
            fail(lfile, ": corrupt labels: ", lf->size(), " bytes, expected ", n, " int32 (", n * 4, " bytes)");
          if (hex64(shard_checksum(lf->data(), lf->size())) != lf_fields.string("checksum", ""))
            fail(lfile, ": corrupt labels: checksum does not match manifest.json");
        }
        split->tokens_ += n;
        split->shards_.push_back({std::move(mf), std::move(lf), n});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail(mpath.string(), ": malformed manifest: ", e.what());
  }
  // Checksums pass, so ids can only be out of range if the manifest's vocabulary is wrong: check the max once.
  for (const TokenSplit* sp : {&d.train_, &d.val_}) {
    std::vector<int32_t> buf(1 << 16);
    for (size_t s = 0; s < sp->shards_.size(); ++s)
      for (int64_t p = 0; p < sp->shards_[s].tokens; p += int64_t(buf.size())) {
        const int64_t n = std::min<int64_t>(int64_t(buf.size()), sp->shards_[s].tokens - p);
        sp->read(s, p, n, buf.data());
        for (int64_t i = 0; i < n; ++i)
          if (buf[size_t(i)] < 0 || buf[size_t(i)] >= d.vocab_size_)
            fail(sp->shards_[s].file->path(), ": token ", buf[size_t(i)], " at ", p + i, " is outside the vocabulary (",
                 d.vocab_size_, ")");
        if (!sp->has_labels_) continue;
        sp->read_labels(s, p, n, buf.data());
        for (int64_t i = 0; i < n; ++i)
          if (buf[size_t(i)] < -1 || buf[size_t(i)] >= d.vocab_size_)
            fail(sp->shards_[s].labels->path(), ": label ", buf[size_t(i)], " at ", p + i,
                 " is neither -1 nor inside the vocabulary (", d.vocab_size_, ")");
      }
  }
  return d;
}

std::string TokenData::fingerprint() const {
  std::string f;
  for (const char* name : {"train", "val"})
    for (const auto& sh : manifest_.at(name).at("shards")) f += sh.at("checksum").get<std::string>();
  return hex64(shard_checksum(reinterpret_cast<const uint8_t*>(f.data()), f.size()));
}

}  // namespace hyb
