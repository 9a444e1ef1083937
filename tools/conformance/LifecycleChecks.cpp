// Checks 6-8: the agent's lifecycle as a backend sees it: shutdown(KEEP_DATAPATH) and a new
// start under a live TCP stream, pods_sync after a crash, shutdown(TEARDOWN) on node leave.
#include <thread>

#include "tools/conformance/Checks.hpp"
#include "tools/conformance/CniCall.hpp"
#include "tools/conformance/Routes.hpp"
#include "tools/conformance/TcpStream.hpp"

namespace cnikit::conformance {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

lab::CommandResult runIn(const std::string& netnsPath, std::vector<std::string> argv) {
  lab::CommandSpec spec;
  spec.argv = std::move(argv);
  spec.netnsPath = netnsPath;
  return lab::runCommand(spec);
}

bool linkExists(const std::string& netnsPath, const std::string& name) {
  return runIn(netnsPath, {"ip", "link", "show", "dev", name}).exitCode == 0;
}

// ICMP echo, as a person would check a pod.
std::string ping(const std::string& fromNetnsPath, const std::string& ip) {
  auto r = runIn(fromNetnsPath, {"ping", "-c", "1", "-W", "2", ip});
  return r.exitCode == 0 ? "" : "ping " + ip + " failed (exit " + std::to_string(r.exitCode) + ")";
}

}  // namespace

CheckOutcome checkRestartKeepsStream(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  lab.ensureAgent(lab.peerNode());
  const lab::PodState a = lab.servedPod("a", kNode1);
  const lab::PodState peer = lab.servedPod("peer", lab.peerNode());
  std::vector<std::string> problems;
  TcpStream stream(lab::netnsPath(a.netns), firstIpv4(peer.ips), kServedPort);
  auto warmup = Clock::now() + std::chrono::seconds(3);
  while (stream.echoed() < 20 && Clock::now() < warmup) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (stream.echoed() < 20)
    return outcomeOf({"the stream does not flow before the restart: " + stream.finish().describe()});

  // SIGTERM: the agent shuts its backends down with KEEP_DATAPATH and exits; then it starts again.
  auto down = Clock::now();
  lab::stopAgent(lab.state(), kNode1);
  long stopMs = msSince(down);
  lab::startAgent(lab.state(), kNode1);
  lab::waitNodesReady(lab.state(), {kNode1}, nullptr, std::chrono::seconds(60));
  long restartMs = msSince(down);
  int echoedAtRestart = stream.echoed();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto figures = stream.finish();
  if (figures.resets > 0) problems.push_back("the connection broke: " + figures.error);
  if (figures.lost > 0) problems.push_back(std::to_string(figures.lost) + " messages never came back");
  if (figures.echoed <= echoedAtRestart) problems.push_back("the stream did not continue after the restart");
  if (!problems.empty()) problems.push_back(figures.describe());
  return outcomeOf(problems, figures.describe() + "; agent stopped in " + std::to_string(stopMs) +
                                 " ms, ready again after " + std::to_string(restartMs) + " ms");
}

CheckOutcome checkPodsSyncRemovesOrphans(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  lab.ensureAgent(lab.peerNode());
  const lab::PodState a = lab.servedPod("a", kNode1);
  const lab::PodState peer = lab.servedPod("peer", lab.peerNode());
  const std::string aIp = firstIpv4(a.ips), peerNetns = lab::netnsPath(peer.netns);
  std::vector<std::string> problems;
  if (auto why = ping(peerNetns, aIp); !why.empty()) return outcomeOf({"before the crash: " + why});

  const std::string id = "conformance-orphan";
  auto netns = lab.makePodNetns("orphan");
  CniCall add;
  add.command = "ADD";
  add.containerId = id;
  add.netnsPath = netns;
  add.config = lab.cniConfig(kNode1);
  auto r = callCni(lab.cnikitPath(), add);
  if (!r.ok()) {
    lab.removePodNetns("orphan");
    return outcomeOf({"ADD of the orphan-to-be failed: " + r.describe()});
  }
  std::string hostIf = hostInterfaceOf(r.out);
  auto addresses = addressesOf(r.out);
  json held = json::array();
  for (const auto& alloc : lab.ipamList(kNode1))
    if (alloc.value("containerId", "") == id) held.push_back(alloc);

  // A crash, and the store as if the ADD had died before recording anything.
  lab::killAgent(lab.state(), kNode1);
  lab.forgetPodInStore(kNode1, id, "eth0", held);
  auto started = Clock::now();
  lab::startAgent(lab.state(), kNode1);
  lab::waitNodesReady(lab.state(), {kNode1}, nullptr, std::chrono::seconds(60));

  std::vector<std::string> prefixes;
  for (const auto& ip : addresses) prefixes.push_back(ip + (ip.find(':') == std::string::npos ? "/32" : "/128"));
  bool linkLeft = true;
  std::vector<std::string> routesLeft;
  long cleanMs = -1;
  while (Clock::now() - started < std::chrono::seconds(10)) {
    linkLeft = !hostIf.empty() && linkExists(lab.nodeNetns(kNode1), hostIf);
    routesLeft = routesInto(lab.nodeNetns(kNode1), prefixes);
    if (!linkLeft && routesLeft.empty()) {
      cleanMs = msSince(started);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (hostIf.empty()) problems.push_back("the ADD result names no host interface");
  if (linkLeft)
    problems.push_back(
        "the orphan's host interface " + hostIf + " is still there 10 s after the start" +
        (lab.hasCapability("lifecycle") ? "" : " (the backend offers no lifecycle table: no pods_sync)"));
  for (const auto& route : routesLeft) problems.push_back("a route to the orphan stays: " + route);
  if (auto why = ping(peerNetns, aIp); !why.empty()) problems.push_back("the recorded pod after the restart: " + why);

  // Whatever the backend left, the kit removes (DEL of an unknown container succeeds).
  add.command = "DEL";
  callCni(lab.cnikitPath(), add);
  if (!hostIf.empty() && linkExists(lab.nodeNetns(kNode1), hostIf))
    runIn(lab.nodeNetns(kNode1), {"ip", "link", "del", hostIf});
  lab.removePodNetns("orphan");
  return outcomeOf(problems, "orphan " + hostIf + " removed " + std::to_string(cleanMs) +
                                 " ms after the agent started; the recorded pod answers ping before and after");
}

CheckOutcome checkTeardownLeavesNodeClean(ConformanceLab& lab) {
  lab.ensureAgent(kNode1);
  // Pods leave a node before the node leaves the cluster.
  for (const auto& p : std::vector<lab::PodState>(lab.state().pods))
    if (p.node == kNode1) lab.deletePod(p.name);
  std::vector<std::string> problems;
  auto asked = Clock::now();
  std::string answer;
  try {
    lab.callAgent(kNode1, rpc::kNodeLeaveMethod, std::chrono::seconds(60));
  } catch (const std::exception& e) {
    answer = e.what();  // an agent that exits before it answers is fine; one that stays is not
  }
  bool exited = false;
  while (Clock::now() - asked < std::chrono::seconds(30)) {
    if (!lab::isRunning(lab.node(kNode1).agent)) {
      exited = true;
      break;
    }
    if (!answer.empty() && Clock::now() - asked > std::chrono::seconds(2)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  long leftMs = msSince(asked);
  if (!exited) {
    problems.push_back(answer.empty() ? "the agent of node1 still runs 30 s after node.leave"
                                      : "node.leave refused: " + answer);
    lab::stopAgent(lab.state(), kNode1);
  }
  lab.state().node(kNode1)->agent = {};
  lab.state().save();

  auto pids = lab::processesInNetns(lab.nodeNetns(kNode1));
  if (!pids.empty()) {
    std::string list;
    for (auto pid : pids) list += (list.empty() ? "" : ", ") + std::to_string(pid);
    problems.push_back("processes left in node1's namespace: pid " + list);
  }
  // The agent's own files (e.g. what it programmed) are core's business; backends' files are
  // under backends/.
  std::vector<std::string> diff;
  for (const auto& line : diffSnapshots(lab.pristine(), lab.snapshot(kNode1)))
    if (line.find(" files: ") == std::string::npos || line.find(" files: backends/") != std::string::npos)
      diff.push_back(line);
  if (!diff.empty())
    problems.push_back("node1 differs from before its agent ever ran (" + std::to_string(diff.size()) +
                       " lines): " + summariseDiff(diff));
  if (lab.nodeRecorded(kNode1)) problems.push_back("node1's node record is still in the store");
  return outcomeOf(problems,
                   "agent left in " + std::to_string(leftMs) + " ms; node1 equals its state before the agent ever ran");
}

}  // namespace cnikit::conformance
