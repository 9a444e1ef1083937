#include "core/k8s/NameRules.hpp"

#include <regex>

namespace cnikit::k8s {
namespace {

const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
const std::regex kSubdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
const std::regex kDns1035Label("[a-z]([-a-z0-9]*[a-z0-9])?");
const std::regex kQualifiedName("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");

}  // namespace

std::optional<std::string> checkDns1123Label(const std::string& text) {
  if (text.size() > 63) return "must be no more than 63 characters";
  if (!std::regex_match(text, kLabel))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
           "and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
  return std::nullopt;
}

std::optional<std::string> checkDns1035Label(const std::string& text) {
  if (text.size() > 63) return "must be no more than 63 characters";
  if (!std::regex_match(text, kDns1035Label))
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')";
  return std::nullopt;
}

std::optional<std::string> checkDns1123Subdomain(const std::string& text) {
  if (text.size() > 253) return "must be no more than 253 characters";
  if (!std::regex_match(text, kSubdomain))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
           "start and end with an alphanumeric character (e.g. 'example.com')";
  return std::nullopt;
}

std::optional<std::string> checkLabelKey(const std::string& text) {
  std::string name = text;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    std::string prefix = text.substr(0, slash);
    name = text.substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (auto err = checkDns1123Subdomain(prefix)) return "prefix part " + *err;
    if (name.find('/') != std::string::npos)
      return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS "
             "subdomain prefix and '/' (e.g. 'example.com/MyName')";
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > 63) return "name part must be no more than 63 characters";
  if (!std::regex_match(name, kQualifiedName))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
           "alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
  return std::nullopt;
}

std::optional<std::string> checkLabelValue(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.size() > 63) return "must be no more than 63 characters";
  if (!std::regex_match(text, kQualifiedName))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
           "start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')";
  return std::nullopt;
}

std::optional<std::string> checkPortName(const std::string& text) {
  if (text.empty()) return "must be non-empty";
  if (text.size() > 15) return "must be no more than 15 characters";
  bool letter = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool lower = c >= 'a' && c <= 'z';
    letter = letter || lower;
    if (!lower && !(c >= '0' && c <= '9') && c != '-')
      return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
    if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') return "must not contain consecutive hyphens";
  }
  if (text.front() == '-' || text.back() == '-') return "must not begin or end with a hyphen";
  if (!letter) return "must contain at least one letter (a-z)";
  return std::nullopt;
}

}  // namespace cnikit::k8s
