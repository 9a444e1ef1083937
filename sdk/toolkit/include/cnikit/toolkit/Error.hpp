#pragma once
// Errors of OS and netlink calls: an errno value plus a message that names the operation,
// the object involved and the system's own text ("creating veth 'veth1a2b3c4d' (peer
// 'eth0'): File exists (libnl: Object exists)").
#include <stdexcept>
#include <string>

namespace cnikit::toolkit {

struct Error {
  int code = 0;         // errno value; libnl codes are mapped back to the closest errno
  std::string message;  // what was attempted, on what, and why it failed
};

// Thrown by Result::value() on an error and available to code that prefers exceptions.
class ToolkitError : public std::runtime_error {
 public:
  explicit ToolkitError(Error error) : std::runtime_error(error.message), code_(error.code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// "<what>: <strerror(err)>"; err is a positive errno value.
Error errnoError(int err, const std::string& what);
// "<what>: <strerror> (libnl: <nl_geterror>)"; nlErr is a libnl return value (negative or not).
Error nlError(int nlErr, const std::string& what);
// Closest errno for a libnl error code (NLE_EXIST -> EEXIST, NLE_OBJ_NOTFOUND -> ENOENT, ...).
int nlErrorToErrno(int nlErr);

}  // namespace cnikit::toolkit
