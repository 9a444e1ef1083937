#include "Masquerade.hpp"

#include <sys/socket.h>

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/IptcTable.hpp>
#include <cnikit/toolkit/XtablesLock.hpp>

namespace cnikit::flannel {

namespace {

[[noreturn]] void fail(const toolkit::Error& error) {
  throw sdk::Error(CNIKIT_ERR_SYSTEM, "masquerade: " + error.message);
}

toolkit::IpFamily ipFamily(int family) { return family == AF_INET6 ? toolkit::IpFamily::V6 : toolkit::IpFamily::V4; }

// Runs change(table) on the nat table of a family and commits when it changed anything. The
// xtables lock is held from the snapshot to the commit: a commit replaces the whole table.
template <class Change>
void withNatTable(int family, Change&& change) {
  std::lock_guard iptc(toolkit::iptcMutex());
  auto xtables = toolkit::XtablesLock::acquire();
  if (!xtables) fail(xtables.error());
  auto table = toolkit::IptcTable::open(ipFamily(family), "nat");
  if (!table) fail(table.error());
  change(table.value());
  if (table.value().changed())
    if (auto committed = table.value().commit(); !committed) fail(committed.error());
}

}  // namespace

toolkit::IptablesRule Masquerade::ruleOf(const std::string& subnet, const std::string& pool) const {
  toolkit::IptablesRule rule = toolkit::ruleTo("MASQUERADE");
  rule.source = subnet;
  rule.destination = pool.empty() ? subnet : pool;
  rule.destinationInverted = true;
  rule.comment = comment_;
  return rule;
}

void Masquerade::ensure(int family, const std::string& subnet, const std::string& pool) {
  auto here = toolkit::Netns::current();
  if (!here) fail(here.error());
  auto key = std::make_tuple(here.value().id().dev, here.value().id().ino, family, subnet, pool);
  std::lock_guard lock(mutex_);
  if (done_.count(key)) return;

  const toolkit::IptablesRule rule = ruleOf(subnet, pool);
  withNatTable(family, [&](toolkit::IptcTable& table) {
    auto present = table.contains("POSTROUTING", rule);
    if (!present) fail(present.error());
    if (!present.value())
      if (auto added = table.append("POSTROUTING", rule); !added) fail(added.error());
  });
  bool seen = false;
  for (const auto& ns : pinned_) seen = seen || ns.sameAs(here.value());
  if (!seen) pinned_.push_back(std::move(here).value());
  done_.insert(key);
}

void Masquerade::removeAll() {
  auto here = toolkit::Netns::current();
  if (!here) fail(here.error());
  std::lock_guard lock(mutex_);
  for (auto it = done_.begin(); it != done_.end();) {
    const auto& [dev, ino, family, subnet, pool] = *it;
    if (dev != here.value().id().dev || ino != here.value().id().ino) {
      ++it;
      continue;
    }
    withNatTable(family, [&](toolkit::IptcTable& table) {
      if (auto removed = table.remove("POSTROUTING", ruleOf(subnet, pool)); !removed) fail(removed.error());
    });
    it = done_.erase(it);
  }
}

}  // namespace cnikit::flannel
