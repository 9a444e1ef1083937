#pragma once
// The lab's nodes: a namespace each with an underlay veth `eth0` on the fabric bridge
// (10.250.0.(10+i)/16, fd00:250::(10+i)/64), forwarding on, and its own cnikitd (config,
// state dir, socket and log under <labDir>/<node>/) using the lab's etcd.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/lab/LabSpec.hpp"
#include "tools/lab/LabState.hpp"
#include "tools/lab/Progress.hpp"

namespace cnikit::lab {

// Adds the node to state (saved), makes its namespace and underlay, writes its agent config.
NodeState& addNodeNetwork(LabState& state, const LabNodeSpec& spec);
// Starts the node's agent unless it runs. Throws when it cannot be started.
void startAgent(LabState& state, const std::string& node);
// SIGTERM and wait (the agent keeps the datapath). false when it was not running.
bool stopAgent(LabState& state, const std::string& node);
// SIGKILL: a crash without any cleanup. false when it was not running.
bool killAgent(LabState& state, const std::string& node);

// `status` of the node's agent; throws when it does not answer.
nlohmann::json agentStatus(const NodeState& node, std::chrono::milliseconds timeout = std::chrono::seconds(5));
// The node's subnets per pool as its agent reports them ("10.244.1.0/24,fd00:...").
std::string subnetsText(const nlohmann::json& status);

// Waits until each of `nodes` answers and is registered (progress "node2 ready (subnet ...)")
// and then until every running agent of the lab has programmed every other registered node
// of the lab. Throws std::runtime_error describing what is missing (with the agents' log
// tails) after timeout or when an agent exits.
void waitNodesReady(const LabState& state, const std::vector<std::string>& nodes, const Progress& progress,
                    std::chrono::milliseconds timeout);
// Only the second half: every running agent has programmed every other running node.
void waitConverged(const LabState& state, std::chrono::milliseconds timeout);

// The socket of the first node whose agent answers (the lab's store is shared, so any agent
// serves objects); throws when none does.
std::string anyAgentSocket(const LabState& state);

}  // namespace cnikit::lab
