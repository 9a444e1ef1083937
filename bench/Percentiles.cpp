#include "Percentiles.hpp"

#include <algorithm>
#include <cmath>

namespace cnikit::bench {
namespace {

double toMs(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

double nearestRank(const std::vector<std::chrono::nanoseconds>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return toMs(sorted[rank - 1]);
}

}  // namespace

LatencySummary summarize(std::vector<std::chrono::nanoseconds> samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.p50Ms = nearestRank(samples, 0.50);
  s.p99Ms = nearestRank(samples, 0.99);
  s.maxMs = toMs(samples.back());
  std::chrono::nanoseconds total{0};
  for (auto d : samples) total += d;
  s.meanMs = toMs(total) / static_cast<double>(samples.size());
  return s;
}

}  // namespace cnikit::bench
