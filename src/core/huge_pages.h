// Large, long-lived buffers (weight matrices) on transparent huge pages where the kernel allows it. Decode streams
// every weight once per token; with 4 KiB pages the TLB misses of that stream cost ~10% of the read rate on the
// hosts measured (THP is usually in "madvise" mode, so anonymous memory gets 2 MiB pages only when asked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace hyb {

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using HugeBuffer = std::unique_ptr<uint8_t[], FreeDeleter>;

// n bytes, uninitialised. From 1 MiB up the buffer starts on a 2 MiB boundary and spans whole 2 MiB pages, all
// advised MADV_HUGEPAGE before anything touches them: a buffer that merely contains some aligned pages (as plain
// new[] gives) leaves its head and tail on 4 KiB pages, which for the 2-6 MiB matrices of a small model is most
// of them. Smaller buffers are 64-byte aligned and left alone.
HugeBuffer alloc_huge(size_t n);

}  // namespace hyb
