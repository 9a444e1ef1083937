#pragma once
// SNAT (MASQUERADE) of pod traffic that leaves the pool: one nat/POSTROUTING rule per
// (family, node subnet, pool) in the calling thread's network namespace, written through
// libiptc (the toolkit's IptcTable, legacy nat table, under the xtables lock) only when the
// rule is not yet known to exist, so the per-pod cost is a set lookup. Rules are node state:
// they stay when pods go. Seen with `iptables-legacy -t nat -S`.
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <cnikit/toolkit/IptablesRule.hpp>
#include <cnikit/toolkit/Netns.hpp>

namespace cnikit::flannel {

class Masquerade {
 public:
  explicit Masquerade(std::string comment) : comment_(std::move(comment)) {}

  // "-s <subnet> ! -d <pool> -j MASQUERADE" (pool empty: "! -d <subnet>"). Throws
  // cnikit::sdk::Error(CNIKIT_ERR_SYSTEM) with libiptc's reason on failure.
  void ensure(int family, const std::string& subnet, const std::string& pool);
  // Deletes every rule this object made in the calling thread's namespace (the node leaves).
  void removeAll();

 private:
  toolkit::IptablesRule ruleOf(const std::string& subnet, const std::string& pool) const;

  std::string comment_;
  std::mutex mutex_;
  std::set<std::tuple<dev_t, ino_t, int, std::string, std::string>> done_;
  // Namespaces named in done_, held open so that their inode numbers cannot be reused by a
  // new namespace that has no rules yet.
  std::vector<toolkit::Netns> pinned_;
};

}  // namespace cnikit::flannel
