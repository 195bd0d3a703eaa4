// Benchmark output: a compact aligned text table for people, or the same numbers as one JSON object.
#pragma once
#include <string>
#include <vector>

namespace hyb {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Right-aligns every column except the first; two spaces between columns.
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// printf-style formatting into a std::string (table cells).
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));

}  // namespace hyb
