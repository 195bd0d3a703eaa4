#include "model/batch.h"

namespace hyb {

std::vector<RowGroup> plan_row_groups(std::span<const int64_t> rows_per_block, RowGrouping grouping, bool stack_long) {
  std::vector<RowGroup> groups;
  int64_t r = 0;
  for (int64_t n : rows_per_block) {
    if (n <= 0) continue;
    if (grouping == RowGrouping::Stacked) {
      if (groups.empty()) groups.push_back({r, 0, false, true});
      groups.back().n += n;
    } else if (n <= kRowwiseMaxTokens) {
      // Consecutive short blocks share one row-wise call: the weights are read once for all of them.
      if (!groups.empty() && groups.back().rowwise && groups.back().r0 + groups.back().n == r) groups.back().n += n;
      else groups.push_back({r, n, true});
    } else if (stack_long && !groups.empty() && !groups.back().rowwise && groups.back().r0 + groups.back().n == r) {
      groups.back().n += n;
    } else {
      groups.push_back({r, n, false});
    }
    r += n;
  }
  return groups;
}

}  // namespace hyb
