// Checks 1-3: the CNI verbs as a runtime sends them, through the real `cnikit` executable
// against node1's agent, in pod namespaces the kit makes.
#include <functional>
#include <thread>

#include "tools/conformance/Checks.hpp"
#include "tools/conformance/CniCall.hpp"

namespace cnikit::conformance {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

CheckOutcome outcomeOf(const std::vector<std::string>& problems, const std::string& figures) {
  if (problems.empty()) return {Verdict::Pass, figures};
  std::string detail;
  for (const auto& p : problems) detail += (detail.empty() ? "" : "; ") + p;
  return {Verdict::Fail, detail};
}

namespace {

CniCall callFor(ConformanceLab& lab, const std::string& command, const std::string& containerId,
                const std::string& netnsPath) {
  CniCall c;
  c.command = command;
  c.containerId = containerId;
  c.netnsPath = netnsPath;
  c.config = lab.cniConfig(kNode1);
  return c;
}

// Addresses the agent of node1 holds for the container.
std::vector<std::string> allocationsOf(ConformanceLab& lab, const std::string& containerId) {
  std::vector<std::string> out;
  for (const auto& a : lab.ipamList(kNode1))
    if (a.value("containerId", "") == containerId) out.push_back(a.value("address", ""));
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// What two ADDs of one container must agree on.
json comparable(const json& result) {
  json interfaces = json::array();
  for (const auto& i : result.value("interfaces", json::array()))
    interfaces.push_back({{"name", i.value("name", "")}, {"mac", i.value("mac", "")}});
  return {{"ips", result.value("ips", json::array())}, {"interfaces", interfaces}};
}

// Links inside a pod namespace other than lo.
std::vector<std::string> podLinks(const std::string& netnsPath) {
  std::vector<std::string> out;
  auto links = json::parse(lab::runChecked({"ip", "-j", "link", "show"}, netnsPath), nullptr, false);
  if (links.is_array())
    for (const auto& l : links)
      if (l.value("ifname", "") != "lo") out.push_back(l.value("ifname", ""));
  return out;
}

// Waits up to `within` for node1 to equal `expected` (deletions may be batched); the diff.
std::vector<std::string> settleTo(ConformanceLab& lab, const NodeSnapshot& expected, std::chrono::milliseconds within,
                                  long& waitedMs) {
  auto started = Clock::now();
  for (;;) {
    auto diff = diffSnapshots(expected, lab.snapshot(kNode1));
    waitedMs = msSince(started);
    if (diff.empty() || Clock::now() - started > within) return diff;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

CheckOutcome checkIdempotence(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  const std::string id = "conformance-idem";
  auto netns = lab.makePodNetns("idem");
  const auto cnikit = lab.cnikitPath();
  std::vector<std::string> problems;

  auto add1 = callCni(cnikit, callFor(lab, "ADD", id, netns));
  if (!add1.ok()) {
    lab.removePodNetns("idem");
    return outcomeOf({"ADD failed: " + add1.describe()});
  }
  auto add2 = callCni(cnikit, callFor(lab, "ADD", id, netns));
  if (!add2.ok())
    problems.push_back("a second ADD failed: " + add2.describe());
  else if (comparable(add1.out) != comparable(add2.out))
    problems.push_back("a second ADD gave another result: " + comparable(add1.out).dump() + " then " +
                       comparable(add2.out).dump());
  auto held = allocationsOf(lab, id);
  if (held.size() != addressesOf(add1.out).size())
    problems.push_back("after two ADDs the container holds " + std::to_string(held.size()) + " addresses (" +
                       joined(held) + "), the result lists " + std::to_string(addressesOf(add1.out).size()));

  auto check = callFor(lab, "CHECK", id, netns);
  check.config["prevResult"] = add1.out;
  if (auto r = callCni(cnikit, check); !r.ok()) problems.push_back("CHECK after ADD failed: " + r.describe());

  for (const char* which : {"first", "second"})
    if (auto r = callCni(cnikit, callFor(lab, "DEL", id, netns)); !r.ok())
      problems.push_back(std::string("the ") + which + " DEL failed: " + r.describe());
  if (auto left = allocationsOf(lab, id); !left.empty())
    problems.push_back("after DEL the container still holds " + joined(left));
  if (auto left = podLinks(netns); !left.empty()) problems.push_back("after DEL the pod still has " + joined(left));

  std::string refusal;
  if (auto r = callCni(cnikit, check); r.ok())
    problems.push_back("CHECK after DEL passed");
  else if (!r.isCniError())
    problems.push_back("CHECK after DEL did not answer a CNI error: " + r.describe());
  else
    refusal = r.out["code"].dump();

  auto add3 = callCni(cnikit, callFor(lab, "ADD", id, netns));
  if (!add3.ok())
    problems.push_back("ADD after DEL failed: " + add3.describe());
  else if (addressesOf(add3.out).empty())
    problems.push_back("ADD after DEL gave no address");
  if (auto r = callCni(cnikit, callFor(lab, "DEL", id, netns)); !r.ok())
    problems.push_back("the last DEL failed: " + r.describe());
  lab.removePodNetns("idem");
  return outcomeOf(problems, "ADD x2 same result, CHECK ok, DEL x2 ok, CHECK after DEL refused (code " + refusal +
                                 "), ADD after DEL ok");
}

CheckOutcome checkNothingLeftAfterDel(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  constexpr int kPods = 3;
  const auto cnikit = lab.cnikitPath();
  std::vector<std::string> problems;
  std::vector<std::pair<std::string, std::string>> pods;  // container id, netns path
  for (int i = 0; i < kPods; ++i) {
    std::string id = "conformance-left-" + std::to_string(i);
    pods.emplace_back(id, lab.makePodNetns("left" + std::to_string(i)));
    if (auto r = callCni(cnikit, callFor(lab, "ADD", id, pods.back().second)); !r.ok())
      problems.push_back("ADD of " + id + " failed: " + r.describe());
  }
  auto during = diffSnapshots(lab.baseline(), lab.snapshot(kNode1));
  for (const auto& [id, netns] : pods) {
    if (auto r = callCni(cnikit, callFor(lab, "DEL", id, netns)); !r.ok())
      problems.push_back("DEL of " + id + " failed: " + r.describe());
    if (auto left = allocationsOf(lab, id); !left.empty())
      problems.push_back(id + " still holds " + joined(left) + " after DEL");
  }
  long waited = 0;
  auto diff = settleTo(lab, lab.baseline(), std::chrono::seconds(3), waited);
  if (!diff.empty())
    problems.push_back("node1 differs from its state before any pod (" + std::to_string(diff.size()) +
                       " lines, after " + std::to_string(waited) + " ms): " + summariseDiff(diff));
  for (int i = 0; i < kPods; ++i) lab.removePodNetns("left" + std::to_string(i));
  return outcomeOf(problems, std::to_string(kPods) + " pods added (" + std::to_string(during.size()) +
                                 " snapshot lines changed) and deleted; node1 equal to its snapshot after " +
                                 std::to_string(waited) + " ms");
}

CheckOutcome checkBadInputRefused(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  const auto cnikit = lab.cnikitPath();
  struct BadCase {
    std::string what;
    std::function<void(CniCall&)> spoil;
  };
  const std::vector<BadCase> cases = {
      {"interface name too long", [](CniCall& c) { c.ifname = "eth0-far-too-long"; }},
      {"interface name with '/'", [](CniCall& c) { c.ifname = "eth/0"; }},
      {"network namespace missing",
       [](CniCall& c) { c.netnsPath = "/run/netns/cnikit-conformance-no-such-namespace"; }},
      {"bad MAC in CNI_ARGS", [](CniCall& c) { c.args = "IgnoreUnknown=1;MAC=zz:00:00:00:00:01"; }},
      {"bad IP in CNI_ARGS", [](CniCall& c) { c.args = "IgnoreUnknown=1;IP=10.300.0.1"; }},
      {"config without type", [](CniCall& c) { c.config.erase("type"); }},
      {"unsupported cniVersion", [](CniCall& c) { c.config["cniVersion"] = "9.9.9"; }},
      {"no container id", [](CniCall& c) { c.containerId = ""; }},
  };
  std::vector<std::string> problems;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& bad = cases[i];
    std::string id = "conformance-bad-" + std::to_string(i);
    auto netns = lab.makePodNetns("bad" + std::to_string(i));
    // Judged against node1 just before the case: what check 2 finds is not counted twice.
    auto before = lab.snapshot(kNode1);
    auto call = callFor(lab, "ADD", id, netns);
    bad.spoil(call);
    auto r = callCni(cnikit, call);
    if (r.ok())
      problems.push_back(bad.what + ": accepted");
    else if (!r.isCniError())
      problems.push_back(bad.what + ": no CNI error JSON with code and msg (" + r.describe() + ")");
    if (auto held = allocationsOf(lab, id); !held.empty())
      problems.push_back(bad.what + ": " + joined(held) + " stays allocated");
    if (auto left = podLinks(netns); !left.empty()) problems.push_back(bad.what + ": the pod has " + joined(left));
    if (auto diff = diffSnapshots(before, lab.snapshot(kNode1)); !diff.empty())
      problems.push_back(bad.what + ": node1 changed: " + summariseDiff(diff, 4));
    // Whatever was made is removed before the next case, so each case is judged alone.
    auto undo = callFor(lab, "DEL", id, netns);
    callCni(cnikit, undo);
    lab.removePodNetns("bad" + std::to_string(i));
  }
  return outcomeOf(problems, std::to_string(cases.size()) + " bad requests refused with a CNI error, nothing left");
}

}  // namespace cnikit::conformance
