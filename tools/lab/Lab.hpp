#pragma once
// `cnikitctl lab up | down | list | node | etcd`: a cluster on one machine. A fabric namespace
// holds a bridge (10.250.0.1/16, fd00:250::1/64) and the lab's etcd; N node namespaces each
// have an underlay veth on it and their own cnikitd. Nothing touches the root namespace.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/lab/LabSpec.hpp"
#include "tools/lab/LabState.hpp"
#include "tools/lab/Progress.hpp"

namespace cnikit::lab {

// Builds the lab and waits until every node is registered and every agent has programmed
// every other node. On failure the lab is left as it is (for `lab down`, or to read the
// logs) and std::runtime_error says what failed.
LabState upLab(const LabSpec& spec, const Progress& progress);

// Kills every process of the lab by PID, removes every namespace (those in the state file and
// any cnikit-lab-<name>-* in /run/netns) and the lab directory. Works on a half-built or
// crashed lab; a lab that does not exist is fine. Returns what it removed, one line each.
std::vector<std::string> downLab(const std::string& name, const Progress& progress);

// Joins a new node to a running lab (namespace, underlay, agent) and waits until every node
// routes to it.
NodeState addNode(const std::string& lab, const LabNodeSpec& spec, const Progress& progress,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

// One line per lab: name, nodes, pods, processes alive, state (ok | degraded | broken).
nlohmann::json labSummaries();
// The lab in detail: nodes with agent state, pods, etcd.
nlohmann::json labStatus(const std::string& name);

}  // namespace cnikit::lab
