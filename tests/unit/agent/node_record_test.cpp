// The store's key module and the typed node record that agents, cnikitctl and the lab share.
#include <gtest/gtest.h>

#include "core/agent/NodeRecord.hpp"
#include "core/ipam/IpamKeys.hpp"
#include "core/k8s/ObjectKeys.hpp"
#include "core/store/Keys.hpp"

namespace cnikit::agent {
namespace {

using nlohmann::json;
namespace keys = store::keys;

TEST(StoreKeys, NodeKeysAndTheirNames) {
  EXPECT_EQ(keys::node("node1"), "/cnikit/v1/nodes/node1");
  EXPECT_EQ(keys::nodeNameOf(keys::node("node1")), "node1");
  EXPECT_EQ(keys::nodeNameOf("/cnikit/v1/nodes/"), std::nullopt);
  EXPECT_EQ(keys::nodeNameOf("/cnikit/v1/nodes/a/b"), std::nullopt);
  EXPECT_EQ(keys::nodeNameOf("/cnikit/v1/endpoints/node1"), std::nullopt);
}

TEST(StoreKeys, EndpointKeysNameTheirNode) {
  auto key = keys::endpoint("node2", "ctr1", "eth0");
  EXPECT_EQ(key, "/cnikit/v1/endpoints/node2/ctr1/eth0");
  EXPECT_EQ(key.rfind(keys::endpointPrefix("node2"), 0), 0u);
  EXPECT_NE(key.rfind(keys::endpointPrefix("node"), 0), 0u) << "node's prefix must not cover node2's keys";
  EXPECT_EQ(keys::endpointNodeOf(key), "node2");
  EXPECT_EQ(keys::endpointNodeOf("/cnikit/v1/nodes/node2"), "");
}

TEST(StoreKeys, EveryAreaLivesUnderTheVersionedRoot) {
  for (std::string_view prefix : {keys::kNodesPrefix, keys::kEndpointsPrefix, keys::kObjectsPrefix, keys::kIpamPrefix,
                                  keys::kBackendsPrefix, std::string_view(keys::kClusterConfig),
                                  std::string_view(keys::kHealth), ipam::keys::kRoot, k8s::kObjectsPrefix})
    EXPECT_EQ(prefix.substr(0, keys::kRoot.size()), keys::kRoot) << prefix;
  EXPECT_EQ(keys::backendScope("blue"), "/cnikit/v1/backends/blue/");
  EXPECT_EQ(ipam::keys::subnetPrefix("p"), "/cnikit/v1/ipam/subnets/p/");
  EXPECT_EQ(k8s::storeKey({k8s::Kind::Namespace, "", "team-a"}), "/cnikit/v1/k8s/namespaces/team-a");
}

TEST(NodeRecord, WritesTheSameTextAsTheFieldByFieldRecordItReplaces) {
  // What agents before the typed record wrote: a new agent must read it, and write the same
  // bytes for the same node (peers compare the text to decide whether to reprogram).
  json old = {{"name", "node1"},
              {"underlayIpv4", "10.250.0.11"},
              {"underlayIpv6", "fd00:250::11"},
              {"labels", {{"zone", "a"}}},
              {"backends", {{"flannel", {{"vtepMac", "02:00:00:00:00:01"}}}}},
              {"subnets", {{"default", json::array({"10.244.0.0/24", "fd00:10:244::/64"})}}}};
  auto record = parseNodeRecord(old.dump());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->name, "node1");
  EXPECT_EQ(record->underlayIpv6, "fd00:250::11");
  EXPECT_EQ(record->labels.at("zone"), "a");
  EXPECT_EQ(record->backends.at("flannel")["vtepMac"], "02:00:00:00:00:01");
  EXPECT_EQ(record->subnets.at("default").size(), 2u);
  EXPECT_EQ(json(*record).dump(), old.dump());
}

TEST(NodeRecord, MissingFieldsTakeDefaultsAndWrongShapesAreRefused) {
  auto sparse = parseNodeRecord(R"({"name": "n2", "subnets": {"p": ["10.0.0.0/24"]}})");
  ASSERT_TRUE(sparse);
  EXPECT_EQ(sparse->underlayIpv4, "");
  EXPECT_TRUE(sparse->backends.empty());
  EXPECT_EQ(sparse->subnets.at("p"), std::vector<std::string>{"10.0.0.0/24"});

  EXPECT_FALSE(parseNodeRecord("not json"));
  EXPECT_FALSE(parseNodeRecord("[1, 2]"));
  EXPECT_FALSE(parseNodeRecord(R"({"name": "n3", "subnets": {"p": "10.0.0.0/24"}})"));
  EXPECT_FALSE(parseNodeRecord(R"({"name": 7})"));
}

TEST(NodeRecord, StatusEntriesReadAsRecords) {
  // cluster.remoteNodes of the agent's status: a record with "programmed" and "error" beside.
  json entry = NodeRecord{"n4", "10.0.0.4", "", {}, {}, {{"p", {"10.1.4.0/24"}}}};
  entry["programmed"] = true;
  entry["error"] = "";
  auto record = entry.get<NodeRecord>();
  EXPECT_EQ(record.name, "n4");
  EXPECT_EQ(record.subnets.at("p").front(), "10.1.4.0/24");
}

}  // namespace
}  // namespace cnikit::agent
