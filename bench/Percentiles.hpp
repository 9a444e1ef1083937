#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace cnikit::bench {

// Latency figures of one (plugin, operation, mode) cell, in milliseconds.
struct LatencySummary {
  std::size_t count = 0;
  double p50Ms = 0;
  double p99Ms = 0;
  double meanMs = 0;
  double maxMs = 0;
};

// Nearest-rank percentiles (no interpolation): p99 of 200 samples is the 198th smallest.
LatencySummary summarize(std::vector<std::chrono::nanoseconds> samples);

}  // namespace cnikit::bench
