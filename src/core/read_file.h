// Whole-file reads for the small inputs that are parsed in memory (text for tokenizing, JSON, manifests).
#pragma once
#include <string>

namespace hyb {

// The file's bytes; fails with "<path>: cannot open[ <what>]" when it cannot be read.
std::string read_file(const std::string& path, const std::string& what = "");

}  // namespace hyb
