#include "tools/conformance/Kit.hpp"

#include <algorithm>

#include "tools/conformance/Checks.hpp"
#include "tools/conformance/ConformanceLab.hpp"

namespace cnikit::conformance {

namespace {

using CheckFunction = CheckOutcome (*)(ConformanceLab&);

struct CheckEntry {
  int number;
  const char* name;
  CheckFunction run;
};

// In table order.
const std::vector<CheckEntry>& entries() {
  static const std::vector<CheckEntry> kEntries = {
      {1, "ADD/CHECK/DEL idempotence", checkIdempotence},
      {2, "nothing left after DEL", checkNothingLeftAfterDel},
      {3, "bad input refused, nothing left", checkBadInputRefused},
      {4, "node remove/add reaches pods", checkNodeAddRemove},
      {5, "local_node_update before any pod", checkLocalNodeBeforePods},
      {6, "restart (KEEP_DATAPATH) keeps TCP", checkRestartKeepsStream},
      {7, "pods_sync removes orphans", checkPodsSyncRemovesOrphans},
      {8, "TEARDOWN leaves the node clean", checkTeardownLeavesNodeClean},
  };
  return kEntries;
}

// The order they run in: 5 needs node1 fresh (no pod yet); 1-3 compare against node1 before
// any pod, so they come before the checks that stop, kill and restart agents; 8 ends node1.
constexpr int kRunOrder[] = {5, 1, 2, 3, 4, 6, 7, 8};

}  // namespace

const std::vector<std::pair<int, std::string>>& checkNames() {
  static const auto kNames = [] {
    std::vector<std::pair<int, std::string>> out;
    for (const auto& e : entries()) out.emplace_back(e.number, e.name);
    return out;
  }();
  return kNames;
}

Report runConformance(const KitOptions& options) {
  auto started = std::chrono::steady_clock::now();
  Report report;
  report.backend = options.backend;
  report.options = options.backendOptions;
  {
    ConformanceLab lab(options);
    try {
      lab.build(report);
    } catch (const std::exception& e) {
      report.setupError = e.what();
    }
    for (int number : kRunOrder) {
      const auto& entry =
          *std::find_if(entries().begin(), entries().end(), [&](const CheckEntry& e) { return e.number == number; });
      CheckResult result;
      result.number = entry.number;
      result.name = entry.name;
      if (!options.only.empty() && !options.only.count(number)) {
        result.verdict = Verdict::Skipped;
      } else if (!report.setupError.empty()) {
        result.verdict = Verdict::Fail;
        result.detail = "the lab could not be built";
      } else {
        if (options.progress) options.progress("check " + std::to_string(number) + ": " + entry.name);
        auto checkStarted = std::chrono::steady_clock::now();
        try {
          auto outcome = entry.run(lab);
          result.verdict = outcome.verdict;
          result.detail = outcome.detail;
        } catch (const std::exception& e) {
          result.verdict = Verdict::Fail;
          result.detail = e.what();
        }
        result.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - checkStarted);
        if (options.progress)
          options.progress("check " + std::to_string(number) + ": " + verdictName(result.verdict) +
                           (result.detail.empty() ? "" : " (" + result.detail + ")"));
      }
      report.checks.push_back(result);
    }
    lab.teardown();
  }
  std::sort(report.checks.begin(), report.checks.end(),
            [](const CheckResult& a, const CheckResult& b) { return a.number < b.number; });
  report.wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return report;
}

}  // namespace cnikit::conformance
