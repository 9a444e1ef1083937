#include "tools/conformance/NodeSnapshot.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::conformance {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json ipJson(const std::vector<std::string>& args, const std::string& netnsPath) {
  std::vector<std::string> argv{"ip", "-j"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = lab::runChecked(argv, netnsPath);
  auto parsed = json::parse(out.empty() ? "[]" : out, nullptr, false);
  if (parsed.is_discarded()) throw std::runtime_error("ip " + args.front() + ": output is not JSON");
  return parsed;
}

std::string field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::vector<std::string> links(const std::string& netnsPath) {
  std::vector<std::string> out;
  for (const auto& l : ipJson({"-d", "link", "show"}, netnsPath)) {
    auto flags = l.value("flags", json::array());
    bool up = std::find(flags.begin(), flags.end(), "UP") != flags.end();
    std::string kind = l.contains("linkinfo") ? field(l["linkinfo"], "info_kind") : "";
    out.push_back(field(l, "ifname") + " kind " + (kind.empty() ? "-" : kind) + " mtu " + field(l, "mtu") + " mac " +
                  field(l, "address") + " master " + (l.contains("master") ? field(l, "master") : "-") +
                  (up ? " up" : " down"));
  }
  return out;
}

std::vector<std::string> addresses(const std::string& netnsPath) {
  std::vector<std::string> out;
  for (const auto& l : ipJson({"addr", "show"}, netnsPath))
    for (const auto& a : l.value("addr_info", json::array()))
      out.push_back(field(l, "ifname") + " " + field(a, "local") + "/" + field(a, "prefixlen") + " scope " +
                    field(a, "scope"));
  return out;
}

std::vector<std::string> routes(const std::string& family, const std::string& netnsPath) {
  std::vector<std::string> out;
  for (const auto& r : ipJson({family, "route", "show", "table", "all"}, netnsPath)) {
    std::string line = field(r, "type") + " " + field(r, "dst");
    for (const char* f : {"gateway", "dev", "table", "protocol", "scope", "prefsrc"})
      if (r.contains(f)) line += std::string(" ") + f + " " + field(r, f);
    for (const auto& flag : r.value("flags", json::array()))
      if (flag == "onlink") line += " onlink";  // not linkdown: that is carrier state
    for (const auto& nh : r.value("nexthops", json::array()))
      line += " nexthop " + field(nh, "gateway") + " dev " + field(nh, "dev");
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(content.str()));
    out.push_back(fs::relative(it->path(), dir, ec).string() + " " + std::to_string(content.str().size()) + " bytes " +
                  hash);
  }
  return out;
}

}  // namespace

std::vector<std::string> normaliseIptablesSave(const std::string& text) {
  std::vector<std::string> out;
  std::string table;
  for (const auto& line : lines(text)) {
    if (line[0] == '#' || line == "COMMIT") continue;
    if (line[0] == '*') {
      table = line.substr(1);
    } else if (line[0] == ':') {
      // ":CHAIN POLICY [packets:bytes]"; built-in chains have a policy, user chains "-".
      std::istringstream in(line.substr(1));
      std::string chain, policy;
      in >> chain >> policy;
      if (policy == "-")
        out.push_back(table + ": :" + chain);
      else if (policy != "ACCEPT")
        out.push_back(table + ": :" + chain + " policy " + policy);
    } else {
      std::string rule = line;
      if (rule[0] == '[') rule.erase(0, rule.find(']') + 2);  // -c counters
      out.push_back(table + ": " + rule);
    }
  }
  return out;
}

NodeSnapshot takeSnapshot(const std::string& netnsPath, const std::string& stateDir) {
  // A settled node: an IPv6 address still in duplicate address detection gets its local
  // route only when DAD ends (~1-2 s after a device came up), so wait for that first.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < deadline) {
    bool tentative = false;
    for (const auto& l : ipJson({"addr", "show"}, netnsPath))
      for (const auto& a : l.value("addr_info", json::array())) tentative = tentative || a.value("tentative", false);
    if (!tentative) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  NodeSnapshot s;
  s.sections["links"] = links(netnsPath);
  s.sections["addresses"] = addresses(netnsPath);
  s.sections["routes4"] = routes("-4", netnsPath);
  s.sections["routes6"] = routes("-6", netnsPath);
  s.sections["rules4"] = lines(lab::runChecked({"ip", "-4", "rule", "show"}, netnsPath));
  s.sections["rules6"] = lines(lab::runChecked({"ip", "-6", "rule", "show"}, netnsPath));
  for (const char* tool : {"iptables-legacy-save", "ip6tables-legacy-save", "iptables-nft-save", "ip6tables-nft-save"})
    s.sections[tool] = normaliseIptablesSave(lab::runChecked({tool}, netnsPath));
  s.sections["files"] = files(stateDir);
  for (auto& [name, section] : s.sections) std::sort(section.begin(), section.end());
  return s;
}

std::vector<std::string> diffSnapshots(const NodeSnapshot& before, const NodeSnapshot& after) {
  std::vector<std::string> out;
  std::vector<std::string> names;
  for (const auto& [name, _] : before.sections) names.push_back(name);
  for (const auto& [name, _] : after.sections)
    if (!before.sections.count(name)) names.push_back(name);
  static const std::vector<std::string> kNone;
  for (const auto& name : names) {
    auto b = before.sections.count(name) ? before.sections.at(name) : kNone;
    auto a = after.sections.count(name) ? after.sections.at(name) : kNone;
    std::vector<std::string> gone, added;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(gone));
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(added));
    for (const auto& l : added) out.push_back("+ " + name + ": " + l);
    for (const auto& l : gone) out.push_back("- " + name + ": " + l);
  }
  return out;
}

std::string summariseDiff(const std::vector<std::string>& diff, size_t limit) {
  std::string out;
  for (size_t i = 0; i < diff.size() && i < limit; ++i) out += (out.empty() ? "" : "; ") + diff[i];
  if (diff.size() > limit) out += "; ... " + std::to_string(diff.size() - limit) + " more";
  return out;
}

}  // namespace cnikit::conformance
