#pragma once
// CNI errors: the spec's codes, plus cnikit's own (100+). Rendered as the spec's error
// JSON on stdout with a non-zero exit.
#include <stdexcept>
#include <string>

namespace cnikit::cni {

enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidNetworkConfig = 7,
  kTryAgainLater = 11,
  kPluginNotAvailable = 50,      // STATUS: cannot serve ADDs now
  kLimitedConnectivity = 51,     // STATUS: serves ADDs, connectivity degraded
  // cnikit's own
  kBackendFailure = 100,         // the datapath backend failed (message says why)
  kAddressesExhausted = 101,     // no free address in the pool
  kRequestedAddressUnavailable = 102,  // IP= / runtimeConfig.ips refused
  kNoPoolSelected = 103,         // no selection rule matched the pod
  kInternal = 199,
};

class CniError : public std::runtime_error {
 public:
  CniError(int code, std::string msg, std::string details = "")
      : std::runtime_error(msg), code_(code), msg_(std::move(msg)), details_(std::move(details)) {}
  int code() const { return code_; }
  const std::string& msg() const { return msg_; }
  const std::string& details() const { return details_; }

 private:
  int code_;
  std::string msg_;
  std::string details_;
};

// {"cniVersion": version, "code": c, "msg": m, "details": d} (details omitted when empty).
// An empty or unknown version renders with the newest supported version.
std::string renderError(const CniError& error, const std::string& cniVersion);

}  // namespace cnikit::cni
