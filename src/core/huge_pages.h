// Large, long-lived buffers (weight matrices) on transparent huge pages where the kernel allows it. Decode streams
// every weight once per token; with 4 KiB pages the TLB misses of that stream cost ~10% of the read rate on the
// hosts measured (THP is usually in "madvise" mode, so anonymous memory gets 2 MiB pages only when asked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hyb {

// n bytes, uninitialised, with the whole 2 MiB pages inside advised MADV_HUGEPAGE before anything touches them.
std::unique_ptr<uint8_t[]> alloc_huge(size_t n);

}  // namespace hyb
