// Encode throughput of our tokenizer on one text file: single-threaded over the whole text (the number compared
// with tiktoken), then batch encoding over documents with 1..N threads (how data preparation scales).
// usage: bench_tokenize TOKENIZER TEXT_FILE [max_threads]
#include <omp.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/timer.h"
#include "tokenizer/tokenizer.h"

using namespace hyb;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER TEXT_FILE [max_threads]\n", argv[0]);
    return 2;
  }
  try {
    const Tokenizer tok = Tokenizer::load(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) fail(argv[2], ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const double mb = double(text.size()) / 1e6;
    const int max_threads = argc > 3 ? std::stoi(argv[3]) : omp_get_num_procs();

    // Single thread, whole text per call; best of 3 runs.
    size_t n_tokens = 0;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      Timer t;
      n_tokens = tok.encode(text).size();
      best = std::min(best, t.seconds());
    }
    std::printf("ours  encode, 1 thread : %8.2f MB/s  (%.2f MB, %zu tokens, best of 3: %.3f s)\n", mb / best, mb,
                n_tokens, best);

    // Documents: split at blank lines into ~64 kB documents.
    std::vector<std::string_view> docs;
    for (size_t start = 0; start < text.size();) {
      size_t cut = text.find("\n\n", std::min(text.size(), start + 65536));
      cut = cut == std::string::npos ? text.size() : cut + 2;
      docs.push_back(std::string_view(text).substr(start, cut - start));
      start = cut;
    }
    for (int threads = 1; threads <= max_threads; threads *= 2) {
      omp_set_num_threads(threads);
      double b = 1e30;
      for (int rep = 0; rep < 3; ++rep) {
        Timer t;
        const auto out = tok.encode_batch(docs);
        b = std::min(b, t.seconds());
      }
      std::printf("ours  batch, %2d thread%s: %8.2f MB/s  (%zu documents)\n", threads, threads > 1 ? "s" : " ",
                  mb / b, docs.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
