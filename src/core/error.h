// One exception type for everything a user can get wrong (files, shapes, flags). The message is the whole story:
// it names the file / tensor / field and what was expected, so the CLI prints it as one line and exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hyb {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Messages quote user data (names, fields); a NUL byte in it would cut what() short, so it is spelled "\0".
std::string printable_message(std::string msg);

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(printable_message(str(std::forward<Args>(args)...)));
}

// Internal invariant (a bug in hybrid.cpp, not bad input): still an exception so tools never abort silently.
#define HYB_ASSERT(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) ::hyb::fail("internal error: ", #cond, " (", __FILE__, ":", __LINE__, ")");    \
  } while (0)

}  // namespace hyb
