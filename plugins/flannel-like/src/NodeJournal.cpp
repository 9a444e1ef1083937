#include "NodeJournal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace cnikit::flannel {

namespace {
constexpr size_t kCompactSlack = 64;  // lines beyond 2x the live records before compacting (amortised O(1))

void writeAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}
}  // namespace

NodeJournal::~NodeJournal() {
  if (fd_ >= 0) ::close(fd_);
}

std::map<std::string, nlohmann::json> NodeJournal::load(std::string& problems) {
  live_.clear();
  if (path_.empty()) return live_;
  std::ifstream in(path_);
  if (!in) return live_;  // nothing yet
  size_t bad = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      const std::string node = j.at("node").get<std::string>();
      if (j.value("removed", false))
        live_.erase(node);
      else
        live_[node] = j.at("record");
    } catch (const std::exception&) {
      ++bad;
    }
  }
  if (bad) problems += path_ + ": " + std::to_string(bad) + " unreadable line(s) skipped";
  rewrite();
  return live_;
}

void NodeJournal::save(const std::string& nodeName, const nlohmann::json& record) {
  if (path_.empty()) return;
  live_[nodeName] = record;
  append({{"node", nodeName}, {"record", record}});
}

void NodeJournal::remove(const std::string& nodeName) {
  if (path_.empty() || !live_.erase(nodeName)) return;
  append({{"node", nodeName}, {"removed", true}});
}

void NodeJournal::erase() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  live_.clear();
  lines_ = 0;
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  std::filesystem::remove(path_ + ".tmp", ec);
}

void NodeJournal::append(const nlohmann::json& line) {
  if (lines_ > 2 * live_.size() + kCompactSlack) {
    rewrite();  // the line's change is already in live_
    return;
  }
  if (fd_ < 0) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("cannot open '" + path_ + "': " + std::strerror(errno));
  }
  writeAll(fd_, line.dump() + "\n", path_);  // one write: a crash tears at most this line
  ++lines_;
}

// The live records into a new file, renamed over the old one.
void NodeJournal::rewrite() {
  if (path_.empty()) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(errno));
  std::string text;
  for (const auto& [node, record] : live_) text += nlohmann::json{{"node", node}, {"record", record}}.dump() + "\n";
  try {
    writeAll(fd, text, tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0)
    throw std::runtime_error("cannot rename '" + tmp + "': " + std::strerror(errno));
  lines_ = live_.size();
}

}  // namespace cnikit::flannel
