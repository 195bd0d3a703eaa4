// Streaming text is held back while its end could still grow into a marker (a stop string, the tool-call tag),
// so that no client ever sees half of one.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string_view>

namespace hyb::serve {

// Length of the longest proper prefix of `marker` that `text` ends with (0 if none).
inline size_t partial_match_tail(std::string_view text, std::string_view marker) {
  if (marker.empty()) return 0;
  for (size_t k = std::min(marker.size() - 1, text.size()); k > 0; --k)
    if (text.substr(text.size() - k) == marker.substr(0, k)) return k;
  return 0;
}

}  // namespace hyb::serve
