#include "core/agent/RecentLog.hpp"

#include <memory>
#include <mutex>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

namespace cnikit::agent {

namespace {
std::mutex mutex;
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink;
}  // namespace

void keepRecentLog(size_t lines) {
  std::lock_guard lock(mutex);
  if (sink) return;
  sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(lines);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  spdlog::default_logger()->sinks().push_back(sink);
}

std::vector<std::string> recentLog() {
  std::lock_guard lock(mutex);
  if (!sink) return {};
  auto lines = sink->last_formatted();
  for (auto& line : lines) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  }
  return lines;
}

}  // namespace cnikit::agent
