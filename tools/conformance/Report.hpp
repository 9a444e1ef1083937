#pragma once
// What the conformance kit found: one row per check (verdict, time, why) and the wall time.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cnikit::conformance {

enum class Verdict { Pass, Fail, NotApplicable, Skipped };

const char* verdictName(Verdict verdict);  // "pass", "FAIL", "n/a", "skipped"

struct CheckResult {
  int number = 0;
  std::string name;  // "ADD/CHECK/DEL idempotence"
  Verdict verdict = Verdict::Skipped;
  std::chrono::milliseconds elapsed{0};
  std::string detail;  // why it failed, or the figures it measured
};

struct Report {
  std::string backend;   // as given: a name or a path
  std::string library;   // the .so the agents loaded
  std::string instance;  // backend instance name in the cluster config
  nlohmann::json options = nlohmann::json::object();
  std::vector<std::string> capabilities;
  std::string setupError;  // the lab could not be built: every check failed
  std::vector<CheckResult> checks;
  std::chrono::milliseconds wall{0};

  bool failed() const;
  nlohmann::json toJson() const;
};

}  // namespace cnikit::conformance
