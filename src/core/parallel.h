// Parallel loops that may run on the calling thread alone. An OpenMP `if (false)` clause (or num_threads(1))
// still starts a one-thread team in libgomp, with a futex system call each time: ~1.2-1.4 us on the VMs
// measured, and decode makes ~10 such small calls per layer (norms, the conv, activations, rounding one row).
// These skip OpenMP entirely when the work is too small to share.
#pragma once
#include <omp.h>

#include <cstdint>

namespace hyb {

// f(i) for i in [0, n): split statically over the team when `parallel`, else in order on the calling thread.
template <class F>
void parallel_for(int64_t n, bool parallel, F&& f) {
  if (!parallel) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(t, nt) on every thread t of a team of nt when `parallel`, else f(0, 1) once on the calling thread. The body
// must split its work by (t, nt) and use no OpenMP worksharing (`omp for`, barriers) or omp_get_thread_num():
// called inside another team's region (decode of several sequences runs the recurrence of each sequence on one
// thread of a team), those would bind to the outer team and deadlock or give the wrong thread number.
template <class F>
void parallel_region(bool parallel, F&& f) {
  if (!parallel) {
    f(0, 1);
    return;
  }
#pragma omp parallel
  f(omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace hyb
