// Process and machine memory, for reporting and for refusing runs that would not fit.
#pragma once
#include <cstddef>

namespace hyb {

double peak_rss_bytes();       // high-water mark of this process's resident memory
double available_ram_bytes();  // what the OS could give us now without swapping (MemAvailable)

}  // namespace hyb
