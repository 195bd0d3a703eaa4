// Process and machine memory, for reporting and for refusing runs that would not fit.
#pragma once
#include <cstddef>
#include <string>

namespace hyb {

double peak_rss_bytes();       // high-water mark of this process's resident memory
double available_ram_bytes();  // what the OS could give us now without swapping (MemAvailable)
double weight_file_bytes(const std::string& dir);  // total size of the *.safetensors files in a checkpoint directory

}  // namespace hyb
