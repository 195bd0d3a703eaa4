#include "core/read_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace hyb {

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open", what.empty() ? "" : " ", what);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hyb
