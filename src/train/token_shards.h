// Tokenized training data on disk: a directory with manifest.json, the tokenizer it was made with, and flat
// little-endian token shards (uint16 when every id fits, else uint32) for a train and a validation split.
// Readers memory-map the shards and verify sizes, checksums and id ranges once, so a truncated or corrupted
// shard is a clear error at startup rather than garbage mid-run.
// Synthetic-task data (synth/) adds two optional manifest fields: "record" (examples are fixed-length records,
// padded, so training windows start only at record boundaries) and, per shard, "labels": an int32 stream where
// label[i] is the id position i must predict, -1 = no loss (only answer positions are scored).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"

namespace hyb {

struct PrepareOptions {
  std::string tokenizer;             // tokenizer.json or a directory holding it
  std::vector<std::string> inputs;   // UTF-8 text files (invalid bytes become U+FFFD)
  std::string out;                   // data directory (created)
  double val_fraction = 0.01;        // share of documents held out, chosen by a seeded hash of the document index
  std::vector<std::string> val_files;  // inputs (as given in `inputs`) held out whole: unseen works for validation
  uint64_t seed = 0;
  bool documents_are_files = false;  // default: a document is a paragraph (text between blank lines)
  int64_t shard_tokens = int64_t(1) << 26;
};

struct PrepareStats {
  int64_t train_tokens = 0, val_tokens = 0, train_docs = 0, val_docs = 0, bytes = 0;
  int32_t vocab_size = 0;
  std::string dtype;
  double val_unigram_entropy = 0;  // nats/token
};

PrepareStats prepare_tokens(const PrepareOptions& opt);

// 64-bit FNV-1a over the shard bytes (hex in the manifest).
uint64_t shard_checksum(const uint8_t* data, size_t n);

// One split of a data directory, mapped read-only.
class TokenSplit {
 public:
  struct Shard {
    std::unique_ptr<MappedFile> file;
    std::unique_ptr<MappedFile> labels;  // int32 per token, or null
    int64_t tokens = 0;
  };
  int64_t tokens() const { return tokens_; }
  const std::vector<Shard>& shards() const { return shards_; }
  int width() const { return width_; }  // 2 or 4 bytes
  // Copies n tokens of shard s from position pos into out (widened to int32).
  void read(size_t s, int64_t pos, int64_t n, int32_t* out) const;
  bool has_labels() const { return has_labels_; }
  // Copies n labels (−1 = no loss) of shard s from position pos; requires has_labels().
  void read_labels(size_t s, int64_t pos, int64_t n, int32_t* out) const;
  int64_t record() const { return record_; }  // fixed example length, 0 = free-running text

 private:
  friend class TokenData;
  std::vector<Shard> shards_;
  int64_t tokens_ = 0;
  int width_ = 2;
  bool has_labels_ = false;
  int64_t record_ = 0;
};

class TokenData {
 public:
  // Opens dir/manifest.json and every shard it lists; fail()s naming the file on anything missing or corrupt.
  static TokenData open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& manifest() const { return manifest_; }
  int32_t vocab_size() const { return vocab_size_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t pad_id() const { return pad_id_; }  // -1 if none
  const TokenSplit& train() const { return train_; }
  const TokenSplit& val() const { return val_; }
  std::string fingerprint() const;  // checksums of all shards: identifies the data for resume checks

 private:
  std::string dir_;
  nlohmann::json manifest_;
  int32_t vocab_size_ = 0, eos_id_ = -1, pad_id_ = -1;
  TokenSplit train_, val_;
};

}  // namespace hyb
