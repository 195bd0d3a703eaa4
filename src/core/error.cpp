#include "core/error.h"

namespace hyb {

std::string printable_message(std::string msg) {
  if (msg.find('\0') == std::string::npos) return msg;
  std::string out;
  out.reserve(msg.size() + 8);
  for (char c : msg) {
    if (c == '\0') out += "\\0";
    else out += c;
  }
  return out;
}

}  // namespace hyb
