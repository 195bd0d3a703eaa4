#include "core/heap_reuse.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hyb {

void retain_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);                // every block from the heap (mmap'd blocks are unmapped when freed)
  mallopt(M_TRIM_THRESHOLD, -1);         // and the top of the heap is never handed back (-1: no trimming)
  mallopt(M_TOP_PAD, 64 << 20);          // grown in 64 MiB steps
#endif
}

}  // namespace hyb
