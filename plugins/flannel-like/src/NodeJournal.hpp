#pragma once
// What the backend programmed for each remote node, kept in the state directory as an
// append-only journal of JSON lines ({"node": name, "record": {...}} or {"node": name,
// "removed": true}; the last line of a node wins). A restarted backend reads it back, so
// nodeRemove after a restart still withdraws exactly those entries, and status lists the
// nodes it programmed (for the agent to remove the ones that left while it was down).
//
// A journal rather than a file per node: one append per changed node costs a write(2), while
// creating and renaming a file costs ~0.3 ms on ext4, too much for 1000 nodes in a resync.
// No fsync: the kernel state it describes does not survive a reboot either. A torn last
// line (crash mid-write) is skipped. The file is compacted at load and when it has grown to
// several times the number of live records.
#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace cnikit::flannel {

class NodeJournal {
 public:
  // path "" = no persistence (every call does nothing, load returns nothing).
  explicit NodeJournal(std::string path) : path_(std::move(path)) {}
  ~NodeJournal();
  NodeJournal(const NodeJournal&) = delete;
  NodeJournal& operator=(const NodeJournal&) = delete;

  const std::string& path() const { return path_; }

  // Node name -> record, and rewrites the file with just those. Lines that do not parse are
  // skipped and counted in `problems`.
  std::map<std::string, nlohmann::json> load(std::string& problems);
  // Throw std::runtime_error naming the file on failure.
  void save(const std::string& nodeName, const nlohmann::json& record);
  void remove(const std::string& nodeName);
  // Forgets every node and deletes the file (the node leaves the cluster).
  void erase();

 private:
  void append(const nlohmann::json& line);
  void rewrite();

  std::string path_;
  int fd_ = -1;  // O_APPEND, opened on first use
  std::map<std::string, nlohmann::json> live_;
  size_t lines_ = 0;  // lines in the file
};

}  // namespace cnikit::flannel
