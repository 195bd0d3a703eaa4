#include "bench/table.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace hyb {

std::string Table::str() const {
  std::vector<size_t> w(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  };
  widen(header_);
  for (auto& r : rows_) widen(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      const std::string pad(w[i] - cell.size(), ' ');
      if (i) out += "  ";
      out += i == 0 ? cell + (i + 1 < w.size() ? pad : "") : pad + cell;
    }
    out += '\n';
  };
  line(header_);
  for (auto& r : rows_) line(r);
  return out;
}

std::string fmt(const char* f, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

}  // namespace hyb
