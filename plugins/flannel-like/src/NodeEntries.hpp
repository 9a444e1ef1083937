#pragma once
// The kernel entries the backend made for one remote node (routes, neighbour and FDB
// entries), their identities, and their JSON form for the state directory (devices by name:
// an ifindex does not survive the device being made again).
#include <functional>
#include <string>
#include <vector>

#include <cnikit/toolkit/Fdb.hpp>
#include <cnikit/toolkit/Neighbour.hpp>
#include <cnikit/toolkit/Route.hpp>

#include <nlohmann/json.hpp>

namespace cnikit::flannel {

struct NodeEntries {
  std::vector<toolkit::Route> routes;
  std::vector<toolkit::Neighbour> neighbours;
  std::vector<toolkit::FdbEntry> fdb;

  bool empty() const { return routes.empty() && neighbours.empty() && fdb.empty(); }
  size_t size() const { return routes.size() + neighbours.size() + fdb.size(); }
};

// What makes two entries "the same slot" in the kernel: writing the second replaces the
// first (a route: table, destination, metric; a neighbour: device and address; a unicast
// FDB entry: device and MAC). Keys of different kinds never collide.
std::string entryKey(const toolkit::Route& r);
std::string entryKey(const toolkit::Neighbour& n);
std::string entryKey(const toolkit::FdbEntry& f);

// Exact equality (the key and everything else the backend sets).
bool sameEntry(const toolkit::Route& a, const toolkit::Route& b);
bool sameEntry(const toolkit::Neighbour& a, const toolkit::Neighbour& b);
bool sameEntry(const toolkit::FdbEntry& a, const toolkit::FdbEntry& b);
bool sameEntries(const NodeEntries& a, const NodeEntries& b);

// deviceName(ifindex) -> "" when unknown; deviceIndex(name) -> 0 when the device is gone
// (entries on it went with it and are dropped).
nlohmann::json toJson(const NodeEntries& e, const std::function<std::string(int)>& deviceName);
NodeEntries entriesFromJson(const nlohmann::json& j, const std::function<int(const std::string&)>& deviceIndex);

}  // namespace cnikit::flannel
