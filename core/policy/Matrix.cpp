#include "core/policy/Matrix.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace cnikit::policy {

std::string PortCase::str() const { return std::string(k8s::protocolName(protocol)) + "/" + std::to_string(port); }

std::optional<PortCase> parsePortCase(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string name = text.substr(0, slash);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  auto protocol = k8s::parseProtocol(name);
  if (!protocol) return std::nullopt;
  std::string number = text.substr(slash + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  if (ec != std::errc() || end != number.data() + number.size() || port < 1 || port > 65535) return std::nullopt;
  return PortCase{*protocol, static_cast<uint16_t>(port)};
}

std::vector<PortCase> declaredPorts(const ClusterState& state) {
  std::set<PortCase> cases;
  for (const auto& [key, pod] : state.pods)
    for (const auto& p : pod.ports) cases.insert({p.protocol, p.port});
  return {cases.begin(), cases.end()};
}

Matrix computeMatrix(const ClusterState& state, const std::vector<PortCase>& cases) {
  Matrix m;
  for (const auto& [key, pod] : state.pods) m.pods.push_back(key);
  m.cases = cases;
  for (const auto& c : cases) {
    auto& table = m.reachable[c];
    for (const auto& [fromKey, from] : state.pods)
      for (const auto& [toKey, to] : state.pods)
        table[fromKey][toKey] = evaluate(state, from, to, c.port, c.protocol).allowed;
  }
  return m;
}

nlohmann::json toJson(const Matrix& matrix) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : matrix.cases) out[c.str()] = matrix.reachable.at(c);
  return out;
}

std::string toTable(const Matrix& matrix) {
  std::string out;
  for (const auto& c : matrix.cases) {
    if (!out.empty()) out += "\n";
    out += c.str() + ":\n-";
    for (const auto& to : matrix.pods) out += "\t" + to;
    out += "\n";
    const auto& table = matrix.reachable.at(c);
    for (const auto& from : matrix.pods) {
      out += from;
      for (const auto& to : matrix.pods) out += table.at(from).at(to) ? "\t." : "\tX";
      out += "\n";
    }
  }
  return out;
}

}  // namespace cnikit::policy
