#include "tests/e2e/TestLab.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tools/lab/LabPaths.hpp"

namespace cnikit::e2e {

using nlohmann::json;

namespace {

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

TestLab::TestLab(const std::string& base) {
  static std::atomic<int> counter{0};
  name_ = "e2e_" + std::to_string(::getpid()) + "_" + base + std::to_string(counter++);
}

TestLab::~TestLab() { down(); }

void TestLab::down() {
  if (down_) return;
  down_ = true;
  auto r = ctl({"lab", "down", "--name", name_});
  if (r.exitCode != 0) ADD_FAILURE() << "lab down " << name_ << ": " << r.describe();
}

testing::CommandResult TestLab::ctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{CNIKITCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run(argv, timeout);
}

std::string TestLab::lab(const std::vector<std::string>& verb, const std::vector<std::string>& rest,
                         std::chrono::milliseconds timeout) const {
  std::vector<std::string> args{"lab"};
  args.insert(args.end(), verb.begin(), verb.end());
  args.insert(args.end(), {"--name", name_});
  args.insert(args.end(), rest.begin(), rest.end());
  auto r = ctl(args, timeout);
  if (r.exitCode != 0) ADD_FAILURE() << "cnikitctl " << joined(args) << ": " << r.describe();
  return r.out;
}

void TestLab::up(const std::vector<std::string>& args) {
  std::vector<std::string> all{"lab", "up", "--name", name_};
  all.insert(all.end(), args.begin(), args.end());
  auto r = ctl(all);
  if (r.exitCode != 0) throw std::runtime_error("cnikitctl " + joined(all) + ": " + r.describe());
}

std::string TestLab::apply(const std::string& yaml) const { return withObjectsFile("apply", yaml); }

std::string TestLab::remove(const std::string& yaml) const { return withObjectsFile("delete", yaml); }

std::string TestLab::withObjectsFile(const std::string& verb, const std::string& yaml) const {
  auto file = lab::labDir(name_) / "e2e-objects.yaml";
  std::ofstream(file) << yaml;
  return lab({verb}, {"-f", file.string()});
}

json TestLab::probe(const std::vector<std::string>& args) const {
  std::vector<std::string> rest{"-o", "json"};
  rest.insert(rest.end(), args.begin(), args.end());
  auto out = lab({"probe"}, rest);
  return json::parse(out, nullptr, false);
}

json TestLab::ctlJson(const std::vector<std::string>& args) const {
  std::vector<std::string> all{"--lab", name_};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"-o", "json"});
  auto r = ctl(all);
  if (r.exitCode != 0) {
    ADD_FAILURE() << "cnikitctl " << joined(all) << ": " << r.describe();
    return nullptr;
  }
  return json::parse(r.out, nullptr, false);
}

json TestLab::agentStatus(const std::string& node) const {
  auto s = state();
  const auto* n = s.node(node);
  if (!n) return nullptr;
  auto r = ctl({"--socket", n->socket, "status", "-o", "json"}, std::chrono::seconds(15));
  if (r.exitCode != 0) return nullptr;
  return json::parse(r.out, nullptr, false);
}

void sweepStaleLabs() {
  for (const auto& name : lab::listLabs()) {
    if (name.rfind("e2e_", 0) != 0) continue;
    auto pidText = name.substr(4, name.find('_', 4) - 4);
    pid_t pid = static_cast<pid_t>(std::strtol(pidText.c_str(), nullptr, 10));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0) continue;
    testing::run({CNIKITCTL_PATH, "lab", "down", "--name", name});
  }
}

bool allEqual(const json& matrix, bool expected) {
  if (!matrix.is_object() || matrix.empty()) return false;
  for (const auto& [c, table] : matrix.items())
    for (const auto& [from, row] : table.items())
      for (const auto& [to, value] : row.items())
        if (value.get<bool>() != expected) return false;
  return true;
}

std::string ipIn(const std::string& netns, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::runInNetns(lab::netnsPath(netns), argv);
  if (r.exitCode != 0) ADD_FAILURE() << joined(argv) << " in " << netns << ": " << r.describe();
  return r.out;
}

std::string podsYaml(int nodes) {
  auto pod = [](const std::string& ns, const std::string& name, const std::string& node) {
    return "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
           ", labels: {pod: " + name + "}}\nspec:\n  nodeName: " + node +
           "\n  containers:\n  - name: serve\n    ports:\n    - {name: serve-80-tcp, containerPort: 80, protocol: "
           "TCP}\n"
           "    - {name: serve-80-udp, containerPort: 80, protocol: UDP}\n";
  };
  std::string out =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: "
      "y}\n";
  out += pod("x", "a", "node1");
  if (nodes >= 2) out += pod("x", "b", "node2");
  if (nodes >= 3) out += pod("y", "c", "node3");
  return out;
}

}  // namespace cnikit::e2e
