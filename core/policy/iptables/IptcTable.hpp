#pragma once
// RAII over one libiptc snapshot of the legacy `filter` table (IPv4: libip4tc, IPv6:
// libip6tc): read chains, rewrite them in memory, then commit() replaces the whole table in
// the kernel in one step (atomic for readers). Works in the calling thread's network
// namespace. libiptc keeps process-wide state and takes no lock: callers hold
// iptcMutex() and, around commit(), the xtables lock (XtablesLock).
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/policy/iptables/IptablesRule.hpp"

struct xtc_handle;

namespace cnikit::policy::iptables {

// What libiptc (or the kernel through it) refused; the message names the operation, the
// chain and libiptc's reason.
class IptcError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One mutex for every libiptc/libipset user in the process.
std::mutex& iptcMutex();

// Resolves an ipset name to its kernel index (the set match stores the index).
using SetIndexFn = std::function<uint16_t(const std::string& name)>;

// The binary ipt_entry / ip6t_entry for a rule (matches + target), as libiptc takes it.
std::vector<unsigned char> encodeEntry(const IptablesRule& rule, Family family, const SetIndexFn& setIndex);

class IptcTable {
 public:
  // Takes a snapshot of `table` ("filter"). Throws IptcError (e.g. no ip_tables in the kernel).
  IptcTable(Family family, const std::string& table = "filter");
  ~IptcTable();
  IptcTable(const IptcTable&) = delete;
  IptcTable& operator=(const IptcTable&) = delete;

  Family family() const { return family_; }
  std::vector<std::string> chains() const;  // user-defined and built-in
  bool hasChain(const std::string& chain) const;
  // Target names of a chain's rules, in order ("ACCEPT", a chain name, "REJECT", ...).
  std::vector<std::string> ruleTargets(const std::string& chain) const;

  void createChain(const std::string& chain);
  void flushChain(const std::string& chain);
  void deleteChain(const std::string& chain);  // must be empty and unreferenced
  void append(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex);
  void insert(const std::string& chain, const IptablesRule& rule, unsigned position, const SetIndexFn& setIndex);
  void deleteRule(const std::string& chain, unsigned position);  // 0-based
  bool changed() const { return changed_; }
  // Replaces the table in the kernel. The handle cannot be used afterwards.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what) const;
  bool v4() const { return family_ == Family::V4; }

  Family family_;
  std::string table_;
  xtc_handle* handle_ = nullptr;  // libip4tc's or libip6tc's, by family_
  bool changed_ = false;
};

}  // namespace cnikit::policy::iptables
