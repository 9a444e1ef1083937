// Loads a backend library through the agent's loader (BackendLibrary) and drives it:
//   sdk_load_backend LIB                                    load, create, print what it is
//   sdk_load_backend LIB add NETNS ID IFNAME [ADDR GW SUBNET POOL]...
//   sdk_load_backend LIB check|del NETNS ID IFNAME
// Exit status 0 on success; errors go to stderr with the backend's message.
#include <sys/socket.h>

#include <iostream>

#include "core/metrics/Metrics.hpp"
#include "core/plugin/BackendInstance.hpp"

using namespace cnikit::plugin;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " LIB [add|check|del NETNS ID IFNAME [ADDR GW SUBNET POOL]...]\n";
    return 2;
  }
  try {
    auto lib = BackendLibrary::load(argv[1]);
    std::cout << "backend " << lib->name() << " " << lib->version() << " abi " << lib->api().abi_major << "."
              << lib->api().abi_minor << " capabilities";
    for (const auto& c : lib->capabilities()) std::cout << " " << c;
    std::cout << "\n";
    cnikit::metrics::Registry metrics;
    auto host = std::make_shared<HostServices>("consumer", nullptr, &metrics);
    BackendInstance instance(lib, CreateSpec{.instanceName = "consumer", .nodeName = "node-1", .stateDir = "/tmp"}, host);
    std::cout << "status " << instance.statusJson() << "\n";
    if (argc == 2) return 0;

    std::string verb = argv[2];
    if (argc < 6) throw std::runtime_error(verb + " needs NETNS ID IFNAME");
    PodRequest req;
    req.netns = argv[3];
    req.containerId = argv[4];
    req.ifname = argv[5];
    req.podNamespace = "default";
    req.podName = "consumer-" + req.containerId;
    req.mtu = 1400;
    req.pool = "default";
    for (int i = 6; i + 3 < argc; i += 4) {
      std::string addr = argv[i];
      req.ips.push_back({addr.find(':') == std::string::npos ? AF_INET : AF_INET6, addr, argv[i + 1], argv[i + 2],
                         argv[i + 3]});
    }
    if (verb == "add") {
      PodResult r = instance.podAdd(req);
      std::cout << "result " << r.hostIfname << " " << r.hostMac << " " << r.containerIfname << " " << r.containerMac
                << " " << r.mtu << "\n";
      std::cout << metrics.serialize();
    } else if (verb == "check") {
      instance.podCheck(req);
      std::cout << "check ok\n";
    } else if (verb == "del") {
      instance.podDel(req);
      std::cout << "del ok\n";
    } else {
      throw std::runtime_error("unknown verb " + verb);
    }
    return 0;
  } catch (const BackendError& e) {
    std::cerr << "backend error (status " << e.status() << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
