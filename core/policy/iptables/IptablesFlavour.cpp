#include "core/policy/iptables/IptablesFlavour.hpp"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <vector>

#include <cnikit/toolkit/Process.hpp>

namespace cnikit::policy::iptables {

namespace {

std::optional<std::string> findTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

// Runs the tool (in this thread's netns: the child starts there) and returns its stdout;
// nullopt when it cannot run or fails. Killed by its PID after 5 s.
std::optional<std::string> capture(const std::string& path) {
  auto r = toolkit::runProcess({.argv = {path}, .timeout = std::chrono::seconds(5)});
  if (!r || !r.value().succeeded()) return std::nullopt;
  return std::move(r).value().out;
}

// -1 when no tool could be run.
int countRules(const std::vector<std::string>& tools, bool cnikit, bool others) {
  int total = -1;
  for (const auto& tool : tools) {
    auto path = findTool(tool);
    if (!path) continue;
    auto text = capture(*path);
    if (!text) continue;
    if (total < 0) total = 0;
    size_t start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      std::string_view line(text->data() + start, end - start);
      if (line.substr(0, 3) == "-A ") {
        bool ours = line.find("CNIKIT") != std::string_view::npos;
        if ((ours && cnikit) || (!ours && others)) ++total;
      }
      start = end + 1;
    }
  }
  return total;
}

}  // namespace

nlohmann::json FlavourReport::toJson() const {
  nlohmann::json j = {{"writes", "legacy"},
                      {"via", "libiptc"},
                      {"nftRules", nftRules},
                      {"legacyRules", legacyRules},
                      {"cnikitLegacyRules", cnikitLegacyRules}};
  if (!warning.empty()) j["warning"] = warning;
  return j;
}

FlavourReport inspectFlavours() {
  FlavourReport report;
  report.nftRules = countRules({"iptables-nft-save", "ip6tables-nft-save"}, true, true);
  report.legacyRules = countRules({"iptables-legacy-save", "ip6tables-legacy-save"}, false, true);
  report.cnikitLegacyRules = countRules({"iptables-legacy-save", "ip6tables-legacy-save"}, true, false);
  if (report.nftRules > 0)
    report.warning = "this node has " + std::to_string(report.nftRules) +
                     " rule(s) in the nf_tables flavour of iptables (what Debian's `iptables` shows: kube-proxy, "
                     "a host firewall) while cnikit writes the legacy tables through libiptc; the kernel enforces "
                     "both, but each tool shows only its own: see cnikit's rules with iptables-legacy-save";
  return report;
}

}  // namespace cnikit::policy::iptables
