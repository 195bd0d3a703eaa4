// A training step frees and reallocates the same large activation and gradient buffers every step. glibc serves
// blocks above its mmap threshold (at most 32 MiB) with fresh mappings and returns freed heap tops to the
// kernel, so each step faulted those pages in and zeroed them again: about 8% of a hybrid-10m step here.
// Keeping freed memory in the process heap lets the next step reuse it as it is.
#pragma once

namespace hyb {

// Large allocations come from the heap and freed memory stays there (process-wide; for long-running loops that
// reuse their peak memory every iteration). Idempotent. No effect outside glibc.
void retain_freed_memory();

}  // namespace hyb
