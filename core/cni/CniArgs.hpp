#pragma once
// CNI_ARGS: "K=V;K2=V2". Splitting only; which keys are allowed is Request's business.
#include <map>
#include <string>

namespace cnikit::cni {

// Throws CniError(kInvalidEnvironment) naming the pair that is not K=V. Empty segments
// (a trailing ';') are skipped; a repeated key keeps its last value.
std::map<std::string, std::string> parseCniArgs(const std::string& text);

// IgnoreUnknown and friends: 1/true/True/TRUE and 0/false/False. Throws
// CniError(kInvalidEnvironment) naming key and value otherwise.
bool parseArgsBool(const std::string& key, const std::string& value);

}  // namespace cnikit::cni
