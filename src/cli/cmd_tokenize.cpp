// hybrid tokenize / hybrid detokenize: text <-> token ids with any supported tokenizer.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/common.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/read_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace hyb::cli {

namespace {
std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return read_file(path);
}

void write_output(const std::string& path, const std::string& bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}
}  // namespace

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Encode text to token ids. By default special-token strings such as <|endoftext|> are plain text "
               "(tiktoken encode_ordinary); --allow-special matches added tokens (HF encode). Prints the ids, or "
               "writes them as an int32 .npy with --out.",
               argv[0]};
  std::string tok_path, text, file, out;
  bool allow_special = false, lossy = false, count_only = false;
  app.add_option("--tokenizer", tok_path, "tokenizer.json, a directory holding one, or a .tiktoken rank file")
      ->required();
  auto* o_text = app.add_option("--text", text, "Text to encode");
  auto* o_file = app.add_option("--file", file, "File to encode as a whole ('-' = stdin)");
  o_text->excludes(o_file);
  app.add_option("--out", out, "Write ids to this .npy (int32, shape [T]) instead of printing them");
  app.add_flag("--allow-special", allow_special, "Match added/special tokens in the text");
  app.add_flag("--lossy", lossy, "Replace invalid UTF-8 with U+FFFD instead of failing");
  app.add_flag("--count", count_only, "Print only the number of tokens");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (o_text->count() == 0 && o_file->count() == 0) {
    std::fprintf(stderr, "error: %s: give --text or --file (see --help)\n", argv[0]);
    return 2;
  }
  const Tokenizer tok = Tokenizer::load(tok_path);
  std::string input = o_file->count() ? read_input(file) : text;
  const std::string what = o_file->count() ? (file == "-" ? std::string("stdin") : file) : std::string("--text");
  if (const size_t bad = utf8_find_invalid(input); bad != std::string::npos) {
    if (!lossy) fail(what, ": invalid UTF-8 at byte ", bad, " (use --lossy to replace invalid bytes with U+FFFD)");
    input = utf8_lossy(input);
  }
  const std::vector<int32_t> ids = allow_special ? tok.encode_with_special(input) : tok.encode(input);
  if (!out.empty()) {
    npy_write_i32(out, {int64_t(ids.size())}, ids.data());
    std::fprintf(stderr, "%zu tokens -> %s\n", ids.size(), out.c_str());
  } else if (count_only) {
    std::printf("%zu\n", ids.size());
  } else {
    std::string line;
    line.reserve(ids.size() * 6);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) line += ' ';
      line += std::to_string(ids[i]);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return 0;
}

int run_detokenize(int argc, char** argv) {
  CLI::App app{"Decode token ids back to the exact bytes (no cleanup, added tokens as their text). Rows of a "
               "[B, T] array are concatenated.",
               argv[0]};
  std::string tok_path, ids_path, list, out;
  app.add_option("--tokenizer", tok_path, "tokenizer.json, a directory holding one, or a .tiktoken rank file")
      ->required();
  auto* o_ids = app.add_option("--ids", ids_path, "Integer .npy of ids ([T] or [B, T])");
  auto* o_list = app.add_option("--id-list", list, "Ids as a comma- or space-separated list");
  o_ids->excludes(o_list);
  app.add_option("--out", out, "Write the bytes to this file instead of stdout");
  if (int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (ids_path.empty() && o_list->count() == 0) {
    std::fprintf(stderr, "error: %s: give --ids or --id-list (see --help)\n", argv[0]);
    return 2;
  }
  const Tokenizer tok = Tokenizer::load(tok_path);
  std::vector<int32_t> ids;
  if (!ids_path.empty()) {
    for (const auto& row : npy_read_ids(ids_path, tok.vocab_size())) ids.insert(ids.end(), row.begin(), row.end());
  } else {
    std::string s = list;
    for (char& c : s)
      if (c == ',') c = ' ';
    std::istringstream ss(s);
    std::string item;
    while (ss >> item) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(item, &used);
      } catch (...) {
        used = 0;
      }
      if (used != item.size()) fail("--id-list: '", item, "' is not an integer");
      if (v < 0 || v > INT32_MAX) fail("--id-list: token id ", v, " is not in the vocabulary (", tok.vocab_size(), " ids)");
      ids.push_back(int32_t(v));
    }
  }
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    try {
      tok.decode_append(ids[i], bytes);
    } catch (const Error& e) {
      fail(ids_path.empty() ? "--id-list" : ids_path, ": position ", i, ": ", e.what());
    }
  }
  if (!out.empty())
    write_output(out, bytes);
  else
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  return 0;
}

}  // namespace hyb::cli
