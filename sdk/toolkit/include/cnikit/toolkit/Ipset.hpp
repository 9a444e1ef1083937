#pragma once
// ipsets through libipset, in process: a batch of commands in `ipset restore` syntax is fed
// from memory (ipset_parse_stream over fmemopen) and sent to the kernel as batched netlink
// messages, without forking the ipset tool. Works in the calling thread's network namespace
// (the session's netlink socket is made at open()). Callers hold iptcMutex().
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <cnikit/toolkit/Result.hpp>

struct ipset;
struct ipset_session;

namespace cnikit::toolkit {

inline constexpr uint16_t kIpsetInvalidIndex = 0xffff;

class Ipset {
 public:
  // A session; an error when none can be made (no ip_set in the kernel). Held by pointer:
  // libipset calls back into the object.
  static Result<std::unique_ptr<Ipset>> open();
  ~Ipset();
  Ipset(const Ipset&) = delete;
  Ipset& operator=(const Ipset&) = delete;

  // Runs every line ("create S hash:ip family inet", "add S 10.0.0.1", "del ...", "swap A B",
  // "destroy S"); `-exist` semantics throughout (create/add of what exists and del of what
  // does not are no errors). The error names every failed line and its reason.
  Status restore(const std::string& script);
  // Names of every set in this namespace.
  Result<std::vector<std::string>> names();

 private:
  Ipset() = default;
  static int onOutput(struct ipset_session* session, void* self, const char* format, ...);
  static int onError(struct ipset* handle, void* self, int status, const char* format, ...);
  static int onStandardError(struct ipset* handle, void* self);

  struct ipset* handle_ = nullptr;
  std::vector<std::string> errors_;
  std::string output_;
};

// The kernel's index of a set (what an iptables set match stores), kIpsetInvalidIndex when
// there is no such set; asked through SO_IP_SET in the calling thread's namespace.
Result<uint16_t> ipsetIndex(const std::string& name);

}  // namespace cnikit::toolkit
