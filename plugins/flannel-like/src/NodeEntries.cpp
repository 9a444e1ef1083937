#include "NodeEntries.hpp"

#include <algorithm>

namespace cnikit::flannel {

using toolkit::FdbEntry;
using toolkit::IpAddress;
using toolkit::IpPrefix;
using toolkit::MacAddress;
using toolkit::Neighbour;
using toolkit::Route;

std::string entryKey(const Route& r) {
  return "route " + std::to_string(r.table) + " " + (r.destination ? r.destination->masked().str() : "default") +
         " metric " + std::to_string(r.metric);
}
std::string entryKey(const Neighbour& n) { return "neigh " + std::to_string(n.ifindex) + " " + n.address.str(); }
std::string entryKey(const FdbEntry& f) { return "fdb " + std::to_string(f.ifindex) + " " + f.mac.str(); }

bool sameEntry(const Route& a, const Route& b) {
  return entryKey(a) == entryKey(b) && a.gateway == b.gateway && a.ifindex == b.ifindex && a.onlink == b.onlink &&
         a.protocol == b.protocol;
}
bool sameEntry(const Neighbour& a, const Neighbour& b) {
  return a.ifindex == b.ifindex && a.address == b.address && a.mac == b.mac && a.state == b.state;
}
bool sameEntry(const FdbEntry& a, const FdbEntry& b) { return a == b; }

namespace {
template <class T>
bool sameList(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& x : a)
    if (std::none_of(b.begin(), b.end(), [&](const T& y) { return sameEntry(x, y); })) return false;
  return true;
}

IpAddress address(const nlohmann::json& j, const char* key) {
  return IpAddress::parse(j.at(key).get<std::string>()).value();
}
MacAddress mac(const nlohmann::json& j, const char* key) {
  return MacAddress::parse(j.at(key).get<std::string>()).value();
}
}  // namespace

bool sameEntries(const NodeEntries& a, const NodeEntries& b) {
  return sameList(a.routes, b.routes) && sameList(a.neighbours, b.neighbours) && sameList(a.fdb, b.fdb);
}

nlohmann::json toJson(const NodeEntries& e, const std::function<std::string(int)>& deviceName) {
  nlohmann::json routes = nlohmann::json::array(), neighbours = nlohmann::json::array(), fdb = nlohmann::json::array();
  for (const auto& r : e.routes) {
    nlohmann::json j{{"dst", r.destination ? r.destination->masked().str() : "default"},
                     {"dev", deviceName(r.ifindex)},
                     {"onlink", r.onlink},
                     {"protocol", r.protocol},
                     {"table", r.table},
                     {"metric", r.metric}};
    if (r.gateway) j["via"] = r.gateway->str();
    routes.push_back(j);
  }
  for (const auto& n : e.neighbours)
    neighbours.push_back(
        {{"ip", n.address.str()}, {"mac", n.mac.str()}, {"dev", deviceName(n.ifindex)}, {"state", n.state}});
  for (const auto& f : e.fdb) {
    nlohmann::json j{{"mac", f.mac.str()}, {"dev", deviceName(f.ifindex)}, {"permanent", f.permanent}};
    if (f.destination) j["dst"] = f.destination->str();
    fdb.push_back(j);
  }
  return {{"routes", routes}, {"neighbours", neighbours}, {"fdb", fdb}};
}

NodeEntries entriesFromJson(const nlohmann::json& j, const std::function<int(const std::string&)>& deviceIndex) {
  NodeEntries e;
  for (const auto& r : j.value("routes", nlohmann::json::array())) {
    int index = deviceIndex(r.at("dev").get<std::string>());
    if (!index) continue;
    Route route;
    std::string dst = r.at("dst").get<std::string>();
    if (dst != "default") route.destination = IpPrefix::parse(dst).value();
    if (r.contains("via")) route.gateway = address(r, "via");
    route.family = route.destination ? route.destination->family() : (route.gateway ? route.gateway->family() : 0);
    route.ifindex = index;
    route.onlink = r.value("onlink", false);
    route.protocol = r.value("protocol", 4);
    route.table = r.value("table", 254u);
    route.metric = r.value("metric", 0u);
    e.routes.push_back(route);
  }
  for (const auto& n : j.value("neighbours", nlohmann::json::array())) {
    int index = deviceIndex(n.at("dev").get<std::string>());
    if (!index) continue;
    e.neighbours.push_back(Neighbour{index, address(n, "ip"), mac(n, "mac"), n.value<uint16_t>("state", 0x80)});
  }
  for (const auto& f : j.value("fdb", nlohmann::json::array())) {
    int index = deviceIndex(f.at("dev").get<std::string>());
    if (!index) continue;
    FdbEntry entry{index, mac(f, "mac"), std::nullopt, f.value("permanent", true)};
    if (f.contains("dst")) entry.destination = address(f, "dst");
    e.fdb.push_back(entry);
  }
  return e;
}

}  // namespace cnikit::flannel
