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

}  // namespace

void Masquerade::ensure(int family, const std::string& subnet, const std::string& pool) {
  auto here = toolkit::Netns::current();
  if (!here) fail(here.error());
  auto key = std::make_tuple(here.value().id().dev, here.value().id().ino, family, subnet, pool);
  std::lock_guard lock(mutex_);
  if (done_.count(key)) return;

  toolkit::IptablesRule rule = toolkit::ruleTo("MASQUERADE");
  rule.source = subnet;
  rule.destination = pool.empty() ? subnet : pool;
  rule.destinationInverted = true;
  rule.comment = comment_;
  const auto ipFamily = family == AF_INET6 ? toolkit::IpFamily::V6 : toolkit::IpFamily::V4;
  {
    // The xtables lock from the snapshot to the commit: a commit replaces the whole nat table.
    std::lock_guard iptc(toolkit::iptcMutex());
    auto xtables = toolkit::XtablesLock::acquire();
    if (!xtables) fail(xtables.error());
    auto table = toolkit::IptcTable::open(ipFamily, "nat");
    if (!table) fail(table.error());
    auto present = table.value().contains("POSTROUTING", rule);
    if (!present) fail(present.error());
    if (!present.value()) {
      if (auto added = table.value().append("POSTROUTING", rule); !added) fail(added.error());
      if (auto committed = table.value().commit(); !committed) fail(committed.error());
    }
  }
  bool seen = false;
  for (const auto& ns : pinned_) seen = seen || ns.sameAs(here.value());
  if (!seen) pinned_.push_back(std::move(here).value());
  done_.insert(key);
}

}  // namespace cnikit::flannel
