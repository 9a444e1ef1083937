#pragma once
// The eight checks of the kit. Each runs on a built ConformanceLab, leaves it as it found it
// where it can (pods it made are deleted), and returns its verdict with the reason or the
// figures it measured; an exception out of a check is a failure of that check.
#include <string>
#include <vector>

#include "tools/conformance/ConformanceLab.hpp"
#include "tools/conformance/Report.hpp"

namespace cnikit::conformance {

struct CheckOutcome {
  Verdict verdict = Verdict::Pass;
  std::string detail;
};

// Pass with `figures` when `problems` is empty, else Fail with the problems.
CheckOutcome outcomeOf(const std::vector<std::string>& problems, const std::string& figures = "");

CheckOutcome checkIdempotence(ConformanceLab& lab);              // 1
CheckOutcome checkNothingLeftAfterDel(ConformanceLab& lab);      // 2
CheckOutcome checkBadInputRefused(ConformanceLab& lab);          // 3
CheckOutcome checkNodeAddRemove(ConformanceLab& lab);            // 4
CheckOutcome checkLocalNodeBeforePods(ConformanceLab& lab);      // 5
CheckOutcome checkRestartKeepsStream(ConformanceLab& lab);       // 6
CheckOutcome checkPodsSyncRemovesOrphans(ConformanceLab& lab);   // 7
CheckOutcome checkTeardownLeavesNodeClean(ConformanceLab& lab);  // 8

}  // namespace cnikit::conformance
