#include <cnikit/toolkit/IptcTable.hpp>

#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" of its own.
extern "C" {
#include <libiptc/libip6tc.h>
}

#include <cerrno>
#include <cstring>
#include <utility>

namespace cnikit::toolkit {

std::mutex& iptcMutex() {
  static std::mutex mutex;
  return mutex;
}

// libip4tc and libip6tc export the same functions under two prefixes and two entry types:
// one table of them per family, so IptcTable has one implementation. Entries pass as bytes
// (encodeEntry made them for the family of the table).
struct IptcOps {
  const char* tool;  // how the error messages name the family
  xtc_handle* (*init)(const char* table);
  void (*free)(xtc_handle*);
  const char* (*strerror)(int err);
  const char* (*firstChain)(xtc_handle*);
  const char* (*nextChain)(xtc_handle*);
  int (*isChain)(const char* chain, xtc_handle* const);
  const void* (*firstRule)(const char* chain, xtc_handle*);
  const void* (*nextRule)(const void* previous, xtc_handle*);
  const char* (*getTarget)(const void* entry, xtc_handle*);
  int (*createChain)(const char* chain, xtc_handle*);
  int (*flushEntries)(const char* chain, xtc_handle*);
  int (*deleteChain)(const char* chain, xtc_handle*);
  int (*appendEntry)(const char* chain, const void* entry, xtc_handle*);
  int (*insertEntry)(const char* chain, const void* entry, unsigned position, xtc_handle*);
  int (*checkEntry)(const char* chain, const void* entry, unsigned char* mask, xtc_handle*);
  int (*deleteNumEntry)(const char* chain, unsigned position, xtc_handle*);
  int (*commit)(xtc_handle*);
  int (*deleteEntry)(const char* chain, const void* entry, unsigned char* mask, xtc_handle*);
};

namespace {

// Entry is ipt_entry or ip6t_entry; the functions are the family's.
#define CNIKIT_IPTC_OPS(tool, prefix, Entry)                                                                      \
  IptcOps {                                                                                                       \
    tool, prefix##_init, prefix##_free, prefix##_strerror, prefix##_first_chain, prefix##_next_chain,             \
        prefix##_is_chain, [](const char* c, xtc_handle* h) -> const void* { return prefix##_first_rule(c, h); }, \
        [](const void* e, xtc_handle* h) -> const void* {                                                         \
          return prefix##_next_rule(static_cast<const Entry*>(e), h);                                             \
        },                                                                                                        \
        [](const void* e, xtc_handle* h) { return prefix##_get_target(static_cast<const Entry*>(e), h); },        \
        prefix##_create_chain, prefix##_flush_entries, prefix##_delete_chain,                                     \
        [](const char* c, const void* e, xtc_handle* h) {                                                         \
          return prefix##_append_entry(c, static_cast<const Entry*>(e), h);                                       \
        },                                                                                                        \
        [](const char* c, const void* e, unsigned n, xtc_handle* h) {                                             \
          return prefix##_insert_entry(c, static_cast<const Entry*>(e), n, h);                                    \
        },                                                                                                        \
        [](const char* c, const void* e, unsigned char* m, xtc_handle* h) {                                       \
          return prefix##_check_entry(c, static_cast<const Entry*>(e), m, h);                                     \
        },                                                                                                        \
        prefix##_delete_num_entry, prefix##_commit,                                                               \
        [](const char* c, const void* e, unsigned char* m, xtc_handle* h) {                                       \
          return prefix##_delete_entry(c, static_cast<const Entry*>(e), m, h);                                    \
        },                                                                                                        \
  }

const IptcOps kIp4Ops = CNIKIT_IPTC_OPS("iptables-legacy", iptc, ipt_entry);
const IptcOps kIp6Ops = CNIKIT_IPTC_OPS("ip6tables-legacy", ip6tc, ip6t_entry);

#undef CNIKIT_IPTC_OPS

const IptcOps& opsFor(IpFamily family) { return family == IpFamily::V4 ? kIp4Ops : kIp6Ops; }

// The errno libiptc left, with its own text (it explains table/chain errors better than strerror).
Error iptcError(const IptcOps& ops, const std::string& table, const std::string& what) {
  int err = errno ? errno : EIO;
  const char* why = ops.strerror(err);
  return Error{err, std::string(ops.tool) + " " + table + ": " + what + ": " + (why ? why : std::strerror(err))};
}

}  // namespace

Result<IptcTable> IptcTable::open(IpFamily family, const std::string& table) {
  const IptcOps& ops = opsFor(family);
  errno = 0;
  xtc_handle* handle = ops.init(table.c_str());
  if (!handle) return iptcError(ops, table, "cannot read the table");
  return IptcTable(family, table, &ops, handle);
}

IptcTable::IptcTable(IptcTable&& other) noexcept
    : family_(other.family_),
      table_(std::move(other.table_)),
      ops_(other.ops_),
      handle_(std::exchange(other.handle_, nullptr)),
      changed_(other.changed_) {}

IptcTable::~IptcTable() {
  if (handle_) ops_->free(handle_);
}

Error IptcTable::failure(const std::string& what) const { return iptcError(*ops_, table_, what); }

std::vector<std::string> IptcTable::chains() const {
  std::vector<std::string> out;
  for (const char* c = ops_->firstChain(handle_); c; c = ops_->nextChain(handle_)) out.emplace_back(c);
  return out;
}

bool IptcTable::hasChain(const std::string& chain) const { return ops_->isChain(chain.c_str(), handle_); }

std::vector<std::string> IptcTable::ruleTargets(const std::string& chain) const {
  std::vector<std::string> out;
  for (const void* e = ops_->firstRule(chain.c_str(), handle_); e; e = ops_->nextRule(e, handle_))
    out.emplace_back(ops_->getTarget(e, handle_));
  return out;
}

Result<bool> IptcTable::contains(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex) const {
  auto entry = encodeEntry(rule, family_, setIndex);
  if (!entry) return entry.error();
  if (!hasChain(chain)) return false;
  // Every byte of the entry compared (iptables -C masks kernel-private match fields; the
  // matches encodeEntry writes have none).
  std::vector<unsigned char> mask(entry.value().size(), 0xff);
  errno = 0;
  if (ops_->checkEntry(chain.c_str(), entry.value().data(), mask.data(), handle_)) return true;
  if (errno == ENOENT || errno == 0) return false;  // libiptc: "no such rule" is ENOENT
  return failure("cannot look for '" + render(rule, family_) + "' in " + chain);
}

namespace {

// Matches (name, revision, size, data) and a module target's data compared byte for byte; a
// standard target by the name libiptc gives it (a verdict or the chain jumped to).
bool isModuleTarget(const std::string& target) {
  return target == "REJECT" || target == "MASQUERADE" || target == "DNAT" || target == "MARK";
}

template <class Entry, class Header>
bool sameEntry(const Entry& kernel, const Entry& wanted, const Header Entry::*header, const std::string& kernelTarget,
               const std::string& wantedTarget) {
  if (std::memcmp(&(kernel.*header), &(wanted.*header), sizeof(Header)) != 0) return false;
  if (kernel.target_offset != wanted.target_offset || kernel.next_offset != wanted.next_offset) return false;
  auto* k = reinterpret_cast<const unsigned char*>(&kernel);
  auto* w = reinterpret_cast<const unsigned char*>(&wanted);
  for (size_t at = sizeof(Entry); at < kernel.target_offset;) {
    auto* km = reinterpret_cast<const xt_entry_match*>(k + at);
    auto* wm = reinterpret_cast<const xt_entry_match*>(w + at);
    if (km->u.match_size != wm->u.match_size || km->u.match_size < sizeof(xt_entry_match)) return false;
    if (std::strcmp(km->u.user.name, wm->u.user.name) != 0 || km->u.user.revision != wm->u.user.revision) return false;
    if (std::memcmp(km->data, wm->data, km->u.match_size - sizeof(xt_entry_match)) != 0) return false;
    at += km->u.match_size;
  }
  if (kernelTarget != wantedTarget) return false;
  auto* kt = reinterpret_cast<const xt_entry_target*>(k + kernel.target_offset);
  auto* wt = reinterpret_cast<const xt_entry_target*>(w + wanted.target_offset);
  if (!isModuleTarget(wantedTarget)) return true;  // a verdict or a jump: the name said it all
  if (kt->u.target_size != wt->u.target_size || kt->u.user.revision != wt->u.user.revision) return false;
  return std::memcmp(kt->data, wt->data, kt->u.target_size - sizeof(xt_entry_target)) == 0;
}

}  // namespace

Result<bool> IptcTable::holdsExactly(const std::string& chain, const std::vector<IptablesRule>& rules,
                                     const SetIndexFn& setIndex) const {
  if (!hasChain(chain)) return false;
  const void* e = ops_->firstRule(chain.c_str(), handle_);
  for (const auto& rule : rules) {
    if (!e) return false;
    auto entry = encodeEntry(rule, family_, setIndex);
    if (!entry) return entry.error();
    const std::string kernelTarget = ops_->getTarget(e, handle_);
    const bool same =
        family_ == IpFamily::V4
            ? sameEntry(*static_cast<const ipt_entry*>(e), *reinterpret_cast<const ipt_entry*>(entry.value().data()),
                        &ipt_entry::ip, kernelTarget, rule.target)
            : sameEntry(*static_cast<const ip6t_entry*>(e), *reinterpret_cast<const ip6t_entry*>(entry.value().data()),
                        &ip6t_entry::ipv6, kernelTarget, rule.target);
    if (!same) return false;
    e = ops_->nextRule(e, handle_);
  }
  return e == nullptr;
}

Result<bool> IptcTable::remove(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex) {
  auto entry = encodeEntry(rule, family_, setIndex);
  if (!entry) return entry.error();
  if (!hasChain(chain)) return false;
  std::vector<unsigned char> mask(entry.value().size(), 0xff);
  errno = 0;
  if (ops_->deleteEntry(chain.c_str(), entry.value().data(), mask.data(), handle_)) {
    changed_ = true;
    return true;
  }
  if (errno == ENOENT || errno == 0) return false;
  return failure("cannot delete '" + render(rule, family_) + "' from " + chain);
}

Status IptcTable::createChain(const std::string& chain) {
  if (!ops_->createChain(chain.c_str(), handle_)) return failure("cannot create chain " + chain);
  changed_ = true;
  return {};
}

Status IptcTable::flushChain(const std::string& chain) {
  if (!ops_->flushEntries(chain.c_str(), handle_)) return failure("cannot flush chain " + chain);
  changed_ = true;
  return {};
}

Status IptcTable::deleteChain(const std::string& chain) {
  if (!ops_->deleteChain(chain.c_str(), handle_)) return failure("cannot delete chain " + chain);
  changed_ = true;
  return {};
}

Status IptcTable::append(const std::string& chain, const IptablesRule& rule, const SetIndexFn& setIndex) {
  auto entry = encodeEntry(rule, family_, setIndex);
  if (!entry) return entry.error();
  if (!ops_->appendEntry(chain.c_str(), entry.value().data(), handle_))
    return failure("cannot append to " + chain + " '" + render(rule, family_) + "'");
  changed_ = true;
  return {};
}

Status IptcTable::insert(const std::string& chain, const IptablesRule& rule, unsigned position,
                         const SetIndexFn& setIndex) {
  auto entry = encodeEntry(rule, family_, setIndex);
  if (!entry) return entry.error();
  if (!ops_->insertEntry(chain.c_str(), entry.value().data(), position, handle_))
    return failure("cannot insert into " + chain + " '" + render(rule, family_) + "'");
  changed_ = true;
  return {};
}

Status IptcTable::deleteRule(const std::string& chain, unsigned position) {
  if (!ops_->deleteNumEntry(chain.c_str(), position, handle_))
    return failure("cannot delete rule " + std::to_string(position + 1) + " of " + chain);
  changed_ = true;
  return {};
}

Status IptcTable::commit() {
  if (!ops_->commit(handle_)) return failure("commit failed");
  changed_ = false;
  return {};
}

}  // namespace cnikit::toolkit
