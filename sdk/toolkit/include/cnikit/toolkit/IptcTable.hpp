#pragma once
// RAII over one libiptc snapshot of a legacy table ("filter", "nat", ...; IPv4 through
// libip4tc, IPv6 through libip6tc, one implementation over an ops table per family): read
// chains, rewrite them in memory, then commit() replaces the whole table in the kernel in one
// step (atomic for readers). Works in the calling thread's network namespace (made there).
// libiptc takes no lock: callers hold iptcMutex() for the life of the snapshot and the xtables
// lock (XtablesLock) from open() to commit(), since a commit replaces the whole table and would
// undo a change another writer (another process, or another copy of the toolkit in a backend
// library, which has its own iptcMutex) made after the snapshot.
#include <mutex>
#include <string>
#include <vector>

#include <cnikit/toolkit/IptablesRule.hpp>
#include <cnikit/toolkit/IptcEntry.hpp>
#include <cnikit/toolkit/Result.hpp>

struct xtc_handle;

namespace cnikit::toolkit {

// One mutex for every libiptc/libipset user in the process.
std::mutex& iptcMutex();

struct IptcOps;  // libip4tc's or libip6tc's functions

class IptcTable {
 public:
  // Takes a snapshot of `table`. The error names the tool, the table and libiptc's reason
  // (e.g. no ip6_tables in this kernel).
  static Result<IptcTable> open(IpFamily family, const std::string& table = "filter");
  ~IptcTable();
  IptcTable(IptcTable&& other) noexcept;
  IptcTable& operator=(IptcTable&&) = delete;
  IptcTable(const IptcTable&) = delete;
  IptcTable& operator=(const IptcTable&) = delete;

  IpFamily family() const { return family_; }
  const std::string& table() const { return table_; }
  std::vector<std::string> chains() const;  // user-defined and built-in
  bool hasChain(const std::string& chain) const;
  // Target names of a chain's rules, in order ("ACCEPT", a chain name, "REJECT", ...).
  std::vector<std::string> ruleTargets(const std::string& chain) const;
  // Whether the chain holds a rule equal to `rule` (what `iptables -C` asks).
  Result<bool> contains(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex = {}) const;
  // Whether the chain exists and holds exactly `rules`, in order (so a resync can leave a
  // chain that is already right alone). Counters are not compared.
  Result<bool> holdsExactly(const std::string& chain, const std::vector<IptablesRule>& rules,
                            const SetIndexFn& setIndex = {}) const;

  Status createChain(const std::string& chain);
  Status flushChain(const std::string& chain);
  Status deleteChain(const std::string& chain);  // must be empty and unreferenced
  Status append(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex = {});
  Status insert(const std::string& chain, const IptablesRule& rule, unsigned position, const SetIndexFn& setIndex = {});
  Status deleteRule(const std::string& chain, unsigned position);  // 0-based
  // Deletes the first rule equal to `rule` (iptables -D with a rule); false when none is.
  Result<bool> remove(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex = {});
  bool changed() const { return changed_; }
  // Replaces the table in the kernel. The snapshot cannot be used afterwards.
  Status commit();

 private:
  IptcTable(IpFamily family, std::string table, const IptcOps* ops, xtc_handle* handle)
      : family_(family), table_(std::move(table)), ops_(ops), handle_(handle) {}
  Error failure(const std::string& what) const;  // libiptc's errno and text

  IpFamily family_;
  std::string table_;
  const IptcOps* ops_;
  xtc_handle* handle_;
  bool changed_ = false;
};

}  // namespace cnikit::toolkit
