#include "tools/conformance/Routes.hpp"

#include <cnikit/toolkit/IpPrefix.hpp>
#include <nlohmann/json.hpp>

#include "tools/conformance/LabIncludes.hpp"

namespace cnikit::conformance {

using nlohmann::json;

std::vector<std::string> routesInto(const std::string& netnsPath, const std::vector<std::string>& prefixes) {
  std::vector<toolkit::IpPrefix> wanted;
  for (const auto& p : prefixes)
    if (auto c = toolkit::IpPrefix::tryParse(p)) wanted.push_back(*c);
  std::vector<std::string> out;
  for (const char* family : {"-4", "-6"}) {
    auto routes =
        json::parse(lab::runChecked({"ip", "-j", family, "route", "show", "table", "all"}, netnsPath), nullptr, false);
    if (!routes.is_array()) continue;
    for (const auto& r : routes) {
      std::string dst = r.value("dst", "");
      if (dst.empty() || dst == "default") continue;
      auto cidr = toolkit::IpPrefix::tryParse(dst, {.bareAddress = true});
      if (!cidr) continue;
      for (const auto& w : wanted) {
        if (w.isV4() != cidr->isV4() || !w.contains(*cidr)) continue;
        std::string line = dst;
        if (r.contains("gateway")) line += " via " + r["gateway"].get<std::string>();
        if (r.contains("dev")) line += " dev " + r["dev"].get<std::string>();
        if (r.contains("table")) line += " table " + r["table"].get<std::string>();
        out.push_back(line);
        break;
      }
    }
  }
  return out;
}

}  // namespace cnikit::conformance
