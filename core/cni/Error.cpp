#include "core/cni/Error.hpp"

#include <nlohmann/json.hpp>

#include "core/cni/Version.hpp"

namespace cnikit::cni {

std::string renderError(const CniError& error, const std::string& cniVersion) {
  nlohmann::json j = {
      {"cniVersion", isSupported(cniVersion) ? cniVersion : std::string(kNewestVersion)},
      {"code", error.code()},
      {"msg", error.msg()},
  };
  if (!error.details().empty()) j["details"] = error.details();
  // Messages may quote bytes from stdin: never let invalid UTF-8 turn an error into a crash.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cnikit::cni
