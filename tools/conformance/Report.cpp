#include "tools/conformance/Report.hpp"

namespace cnikit::conformance {

const char* verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::Pass:
      return "pass";
    case Verdict::Fail:
      return "FAIL";
    case Verdict::NotApplicable:
      return "n/a";
    case Verdict::Skipped:
      return "skipped";
  }
  return "?";
}

bool Report::failed() const {
  if (!setupError.empty()) return true;
  for (const auto& c : checks)
    if (c.verdict == Verdict::Fail) return true;
  return false;
}

nlohmann::json Report::toJson() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : checks)
    rows.push_back({{"check", c.number},
                    {"name", c.name},
                    {"result", verdictName(c.verdict)},
                    {"ms", c.elapsed.count()},
                    {"detail", c.detail}});
  nlohmann::json out = {{"backend", backend},     {"library", library},           {"instance", instance},
                        {"options", options},     {"capabilities", capabilities}, {"checks", rows},
                        {"wallMs", wall.count()}, {"passed", !failed()}};
  if (!setupError.empty()) out["setupError"] = setupError;
  return out;
}

}  // namespace cnikit::conformance
