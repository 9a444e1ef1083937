#pragma once
// ipsets through libipset, in process: a batch of commands in `ipset restore` syntax is fed
// from memory (ipset_parse_stream over fmemopen) and sent to the kernel as batched netlink
// messages, without forking the ipset tool. Works in the calling thread's network namespace
// (the session's netlink socket is made at construction). Callers hold iptcMutex().
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

struct ipset;
struct ipset_session;

namespace cnikit::policy::iptables {

class IpsetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr uint16_t kIpsetInvalidIndex = 0xffff;

class Ipset {
 public:
  Ipset();  // throws IpsetError when no session can be made (no ip_set in the kernel)
  ~Ipset();
  Ipset(const Ipset&) = delete;
  Ipset& operator=(const Ipset&) = delete;

  // Runs every line ("create S hash:ip family inet", "add S 10.0.0.1", "del ...", "swap A B",
  // "destroy S"); `-exist` semantics throughout (create/add of what exists and del of what
  // does not are no errors). Throws IpsetError with every failed line and its reason.
  void restore(const std::string& script);
  // Names of every set in this namespace.
  std::vector<std::string> names();

 private:
  static int onOutput(struct ipset_session* session, void* self, const char* format, ...);
  static int onError(struct ipset* handle, void* self, int status, const char* format, ...);
  static int onStandardError(struct ipset* handle, void* self);

  struct ipset* handle_ = nullptr;
  std::vector<std::string> errors_;
  std::string output_;
};

// The kernel's index of a set (what an iptables set match stores), kIpsetInvalidIndex when
// there is no such set; asked through SO_IP_SET in the calling thread's namespace.
uint16_t ipsetIndex(const std::string& name);

}  // namespace cnikit::policy::iptables
