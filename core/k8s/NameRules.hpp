#pragma once
// The apiserver's syntax rules for names, label keys/values and port names. Each returns
// nullopt when the text is valid, else what is wrong in the apiserver's words.
#include <optional>
#include <string>

namespace cnikit::k8s {

std::optional<std::string> checkDns1123Label(const std::string& text);      // namespace names
std::optional<std::string> checkDns1123Subdomain(const std::string& text);  // pod, policy names
std::optional<std::string> checkDns1035Label(const std::string& text);      // service names
std::optional<std::string> checkLabelKey(const std::string& text);          // [prefix/]name
std::optional<std::string> checkLabelValue(const std::string& text);
std::optional<std::string> checkPortName(const std::string& text);  // IANA_SVC_NAME

}  // namespace cnikit::k8s
