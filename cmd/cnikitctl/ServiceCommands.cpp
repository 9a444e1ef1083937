// cnikitctl service list | explain NS/NAME: this node's service table (service.list) and what
// the service provider made of one Service (service.explain), from the agent.
#include <iostream>

#include "cmd/cnikitctl/Commands.hpp"
#include "cmd/cnikitctl/Table.hpp"

namespace cnikit::ctl {
namespace {

using nlohmann::json;

std::string joined(const json& array) {
  std::string out;
  for (const auto& v : array) out += (out.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out.empty() ? "<none>" : out;
}

std::string portsText(const json& service) {
  std::string out;
  for (const auto& p : service["ports"]) {
    out += out.empty() ? "" : ",";
    if (!p.value("name", "").empty()) out += p["name"].get<std::string>() + ":";
    out += std::to_string(p.value("port", 0));
    if (p.value("nodePort", 0)) out += ":" + std::to_string(p.value("nodePort", 0));
    out += "/" + p.value("protocol", "TCP");
  }
  return out.empty() ? "<none>" : out;
}

// Ready/total over the distinct backend addresses of all ports, and which (address:port of
// ready ones; "!" marks not ready).
std::pair<std::string, std::string> endpointsText(const json& service) {
  size_t total = 0, ready = 0;
  std::string which;
  for (const auto& p : service["ports"])
    for (const auto& b : p["backends"]) {
      ++total;
      ready += b.value("ready", false);
      std::string address = b.value("address", "");
      if (address.find(':') != std::string::npos) address = "[" + address + "]";
      which += (which.empty() ? "" : ",") + std::string(b.value("ready", false) ? "" : "!") + address + ":" +
               std::to_string(b.value("port", 0)) + (b.value("local", false) ? "(local)" : "");
    }
  return {std::to_string(ready) + "/" + std::to_string(total), which.empty() ? "<none>" : which};
}

}  // namespace

void registerServiceCommands(CLI::App& app, const GlobalOptions& options, int& exitCode) {
  auto* service = app.add_subcommand("service", "this node's Services as its service provider programs them");
  service->require_subcommand(1);

  auto* list = service->add_subcommand("list", "every Service of this node's table: type, addresses, ports, endpoints");
  list->callback([&options] {
    auto response = callAgent(options, rpc::kServiceListMethod);
    if (options.output != "table") {
      std::cout << response.dump(2) << "\n";
      return;
    }
    Table table({"NAMESPACE", "NAME", "CLUSTER-IPS", "EXTERNAL-IPS", "PORTS", "AFFINITY", "ENDPOINTS", "WHICH"});
    for (const auto& s : response.value("services", json::array())) {
      auto [counts, which] = endpointsText(s);
      std::string affinity = s.value("clientIpAffinity", false)
                                 ? "ClientIP(" + std::to_string(s.value("affinityTimeoutSeconds", 0)) + "s)"
                                 : "None";
      table.add({s.value("namespace", ""), s.value("name", ""), joined(s["clusterIPs"]), joined(s["loadBalancerIPs"]),
                 portsText(s), affinity, counts, which});
    }
    table.print(std::cout);
    const auto status = response.value("status", json::object());
    std::cout << "\nProvider " << status.value("provider", "?") << ": " << status.value("services", 0)
              << " service(s), " << status.value("readyBackends", 0) << "/" << status.value("backends", 0)
              << " backends ready"
              << (status.contains("lastError") ? ", last error: " + status["lastError"].dump() : "") << "\n";
  });

  auto name = std::make_shared<std::string>();
  auto* explain = service->add_subcommand("explain", "what implements one Service on this node");
  explain->add_option("service", *name, "NAMESPACE/NAME (NAME: in namespace default)")->required();
  explain->callback([&options, &exitCode, name] {
    auto response = callAgent(options, rpc::kServiceExplainMethod, {{"service", *name}});
    if (options.output != "table") {
      std::cout << response.dump(2) << "\n";
      return;
    }
    const auto& s = response["service"];
    auto [counts, which] = endpointsText(s);
    std::cout << "Service " << s.value("namespace", "") << "/" << s.value("name", "") << ": cluster IPs "
              << joined(s["clusterIPs"]) << ", external IPs " << joined(s["loadBalancerIPs"]) << ", ports "
              << portsText(s) << "\n  endpoints " << counts << ": " << which << "\n  internalTrafficPolicy "
              << s.value("internalTrafficPolicy", "") << ", externalTrafficPolicy "
              << s.value("externalTrafficPolicy", "") << "\n\nProvider " << response.value("provider", "?") << ":\n";
    const auto& detail = response["explain"];
    if (detail.is_null()) {
      std::cout << "  (nothing programmed for this Service)\n";
      exitCode = 1;
    } else if (detail.is_string()) {
      std::cout << detail.get<std::string>() << "\n";
    } else {
      std::cout << detail.dump(2) << "\n";
    }
  });
}

}  // namespace cnikit::ctl
