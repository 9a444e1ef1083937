// cnikitctl status | ipam list | version: what the node agent reports.
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "cmd/cnikitctl/Table.hpp"
#include "core/agent/NodeRecord.hpp"
#include "core/rpc/AgentClient.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

std::string join(const json& array, const char* sep = ",") {
  std::string out;
  for (const auto& item : array) {
    if (!out.empty()) out += sep;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

std::string text(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

void printStatus(const json& s) {
  const auto& agent = s["agent"];
  std::cout << "Agent:    cnikitd " << agent["version"].get<std::string>() << " (ABI "
            << agent["abi"].get<std::string>() << "), node " << agent["node"].get<std::string>() << ", pid "
            << agent["pid"] << ", up " << agent["uptimeSeconds"] << "s, socket " << agent["socket"].get<std::string>()
            << "\n";
  const auto& store = s["store"];
  std::cout << "Store:    " << store["backend"].get<std::string>() << ", "
            << (store["reachable"].get<bool>() ? "reachable, revision " + store["revision"].dump()
                                               : "UNREACHABLE: " + store.value("error", ""))
            << "\n\nBackends:\n";
  Table backends({"INSTANCE", "TYPE", "VERSION", "ABI", "CAPABILITIES", "READY", "LIBRARY"});
  for (const auto& b : s["backends"]) {
    auto lifecycle = b.value("lifecycle", json::object());
    std::string ready = b.value("ready", false) ? "yes" : "no: " + lifecycle.value("reason", std::string("?"));
    backends.add(
        {b["instance"], b["type"], b["version"], b.value("abi", ""), join(b["capabilities"]), ready, b["library"]});
  }
  backends.print(std::cout);
  bool anyCondition = false;
  for (const auto& b : s["backends"]) anyCondition = anyCondition || !b.value("conditions", json::array()).empty();
  if (anyCondition) {
    std::cout << "\nConditions:\n";
    Table conditions({"INSTANCE", "TYPE", "OK", "SINCE", "MESSAGE"});
    for (const auto& b : s["backends"])
      for (const auto& c : b.value("conditions", json::array()))
        conditions.add({b["instance"], c.value("type", ""), c.value("ok", false) ? "yes" : "no",
                        text(c.value("lastTransitionTime", json(""))), c.value("message", std::string())});
    conditions.print(std::cout);
  }
  std::cout << "\nPools:\n";
  Table pools({"POOL", "BACKEND", "CIDRS", "NODE SUBNETS", "ALLOCATED"});
  for (const auto& p : s["pools"])
    pools.add({p["name"], p["backend"], join(p["cidrs"]), join(p["nodeSubnets"]), p["allocated"].dump()});
  pools.print(std::cout);
  std::cout << "\nAllocations: " << s["allocations"] << "\n";
  if (s.contains("cluster")) {
    const auto& c = s["cluster"];
    const auto& u = c["underlay"];
    std::cout << "\nNode:     " << (c["registered"].get<bool>() ? "registered" : "NOT registered") << ", underlay "
              << (u["interface"].get<std::string>().empty() ? "-" : u["interface"].get<std::string>()) << " "
              << u["ipv4"].get<std::string>() << " mtu " << u["mtu"] << "\n";
    if (c.contains("storeError")) std::cout << "          store error: " << c["storeError"].get<std::string>() << "\n";
    Table nodes({"REMOTE NODE", "UNDERLAY", "SUBNETS", "PROGRAMMED", "ERROR"});
    for (const auto& n : c["remoteNodes"]) {
      auto record = n.get<agent::NodeRecord>();
      std::string subnets;
      for (const auto& [pool, list] : record.subnets) {
        if (!subnets.empty()) subnets += " ";
        subnets += pool + ":" + join(list);
      }
      nodes.add({record.name, record.underlayIpv4, subnets, n.value("programmed", false) ? "yes" : "no",
                 n.value("error", "")});
    }
    if (!c["remoteNodes"].empty()) nodes.print(std::cout);
  }
}

void printAllocations(const json& list) {
  Table table({"POOL", "ADDRESS", "SUBNET", "CONTAINER", "IFNAME", "POD"});
  for (const auto& a : list) {
    std::string pod = a["podNamespace"].get<std::string>().empty()
                          ? "-"
                          : a["podNamespace"].get<std::string>() + "/" + a["podName"].get<std::string>();
    table.add(
        {a["pool"], a["address"], a["subnet"], a["containerId"].get<std::string>().substr(0, 12), a["ifname"], pod});
  }
  table.print(std::cout);
}

}  // namespace

json callAgent(const GlobalOptions& options, const std::string& method, const json& params) {
  return rpc::AgentClient(options.socket).call(method, params, std::chrono::seconds(60));
}

void registerAgentCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  auto* version = app.add_subcommand("version", "versions of cnikitctl and of the agent");
  version->callback([&options] {
    json out = {{"cnikitctl", CNIKIT_VERSION}};
    try {
      out["agent"] = callAgent(options, rpc::kVersionMethod);
    } catch (const std::exception& e) {
      out["agent"] = {{"error", e.what()}};
    }
    if (options.json()) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << "cnikitctl " << CNIKIT_VERSION << "\n";
    if (out["agent"].contains("version"))
      std::cout << "cnikitd   " << out["agent"]["version"].get<std::string>() << " (ABI "
                << out["agent"]["abi"].get<std::string>() << ")\n";
    else
      std::cout << "cnikitd   unreachable: " << out["agent"]["error"].get<std::string>() << "\n";
  });

  auto* status = app.add_subcommand("status", "agent, store, backends, pools and allocations");
  status->callback([&options] {
    auto s = callAgent(options, rpc::kStatusMethod);
    if (options.json())
      std::cout << s.dump(2) << "\n";
    else
      printStatus(s);
  });

  auto* ipam = app.add_subcommand("ipam", "address management");
  ipam->require_subcommand(1);
  auto* list = ipam->add_subcommand("list", "addresses allocated on this node");
  list->callback([&options] {
    auto allocations = callAgent(options, rpc::kIpamListMethod);
    if (options.json())
      std::cout << allocations.dump(2) << "\n";
    else
      printAllocations(allocations);
  });

  auto* node = app.add_subcommand("node", "this node in the cluster");
  node->require_subcommand(1);
  auto* leave =
      node->add_subcommand("leave",
                           "the node leaves the cluster: its pods are released, every backend removes what it made "
                           "(shutdown TEARDOWN), its registration and subnets are withdrawn, and the agent exits");
  leave->callback([&options] {
    auto out = callAgent(options, rpc::kNodeLeaveMethod);
    if (options.json())
      std::cout << out.dump(2) << "\n";
    else
      std::cout << "node " << out.value("leaving", std::string("?")) << " is leaving the cluster\n";
  });
  (void)exitCode;
}

}  // namespace cnikit::ctl
