#include "tools/lab/LabExternal.hpp"

#include <stdexcept>

#include "tools/lab/Command.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/Netns.hpp"

namespace cnikit::lab {

namespace {
constexpr const char* kFabricPort = "ext";  // its end on the fabric bridge (node ports are n1, n2, ...)
}  // namespace

void addExternalClient(LabState& state) {
  state.external.netns = netnsName(state.name, kExternalPart);
  state.recordNetns(state.external.netns);  // saves: recorded before it exists
  createNetns(state.external.netns);
  // No DAD: its address is usable at once (a node answers NodePorts from the first packet).
  runChecked({"ip", "-batch", "-"}, netnsPath(state.external.netns),
             std::string("link add eth0 type veth peer name ") + kFabricPort + " netns " + state.fabricNetns + "\n" +
                 "addr add " + state.external.ipv4 + "/16 dev eth0\n" + "addr add " + state.external.ipv6 +
                 "/64 dev eth0 nodad\n" + "link set eth0 up\n");
  runChecked({"ip", "link", "set", kFabricPort, "master", state.fabricBridge, "up"}, netnsPath(state.fabricNetns));
}

const std::string& externalNetns(const LabState& state) {
  if (state.external.netns.empty() || !netnsExists(state.external.netns))
    throw std::runtime_error("lab " + state.name +
                             " has no outside client (labs made before it existed have none: `lab down` and `lab up` "
                             "again)");
  return state.external.netns;
}

}  // namespace cnikit::lab
