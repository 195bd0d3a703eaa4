// Names that a checkpoint index or data manifest may use for the files beside it.
#pragma once
#include <string>

namespace hyb {

// A plain file name inside its directory: not empty, not "." or "..", no '/', '\' or NUL, and at most 255 bytes
// (NAME_MAX: a longer name makes the file system calls fail with ENAMETOOLONG; found by fuzz_checkpoint_index).
inline bool is_plain_file_name(const std::string& fn) {
  return !fn.empty() && fn.size() <= 255 && fn != "." && fn != ".." &&
         fn.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

}  // namespace hyb
