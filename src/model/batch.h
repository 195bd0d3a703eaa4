// A batch for the model core: a list of segments, each a run of tokens of one sequence with its own starting
// position and the state it continues from. Rows of all segments are stacked (segment order) so every projection
// runs over all rows at once; the per-sequence parts (short conv, GDN recurrence, attention, RoPE) run per segment.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace hyb {

class Cache;

enum class LogitRows { None, Last, All };

struct Segment {
  const int32_t* ids = nullptr;
  int64_t n = 0;            // tokens in this segment (> 0)
  int64_t pos = 0;          // position of ids[0] in its sequence; with a cache it must equal cache->n_past()
  Cache* cache = nullptr;   // state to continue from and update; null = fresh (zero state, nothing kept)
  LogitRows logits = LogitRows::Last;
};

// How rows are grouped into GEMM calls.
//  Invariant (inference): segments of at most kRowwiseMaxTokens tokens (decode rows, short chunks) share one
//    row-wise call (each output a fixed-order dot product); every longer segment gets a GEMM of its own. A row's
//    numbers then depend only on its own segment, never on which other segments share the batch.
//  Stacked (training, scoring): all rows in one GEMM; fastest, and the result may depend on the batch's shape.
enum class RowGrouping { Invariant, Stacked };
constexpr int64_t kRowwiseMaxTokens = 8;

struct RowGroup {
  int64_t r0 = 0, n = 0;
  bool rowwise = false;
  // Stacked mode only: weight matrices that lie back to back (the trainer's arena) may run as one GEMM. Inference
  // never fuses, so its numbers do not depend on where the loader placed the tensors.
  bool fuse = false;
};

// Groups for consecutive blocks of rows of the given sizes (one block per segment; size 0 = no rows).
// stack_long (Invariant only): adjacent longer segments share one GEMM. Only for a GEMM whose every output row is
// computed the same way whatever the other rows (BF16 weights in fast mode: our panel kernel, each output one
// fixed-order sum along k); it then packs the weights once for all of them instead of once per segment.
std::vector<RowGroup> plan_row_groups(std::span<const int64_t> rows_per_block, RowGrouping grouping,
                                      bool stack_long = false);

}  // namespace hyb
