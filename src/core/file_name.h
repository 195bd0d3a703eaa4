// Names that a checkpoint index or data manifest may use for the files beside it.
#pragma once
#include <string>

namespace hyb {

// A plain file name inside its directory: not empty, not "." or "..", no '/', '\' or NUL.
inline bool is_plain_file_name(const std::string& fn) {
  return !fn.empty() && fn != "." && fn != ".." && fn.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

}  // namespace hyb
