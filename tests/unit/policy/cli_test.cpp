// cnikitctl's offline paths: policy matrix / explain on manifests, and apply refusing invalid
// manifests before it contacts any agent. Runs the built cnikitctl.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/unit/policy/PolicyFixture.hpp"

namespace cnikit::policy::test {
namespace {

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

Run run(const std::string& args) {
  Run r;
  std::string command = std::string(CNIKITCTL) + " --socket /nonexistent/cnikit-test.sock " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/cnkt-" + std::to_string(getpid()) + "-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    write("model/01-model.yaml", netpolModelYaml());
    write("model/02-policy.yaml", policyYaml("x", "allow-from-y", R"(  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
    ports: [{port: serve-80-tcp}])"));
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(Cli, MatrixOnManifestsPrintsTheExpectedJson) {
  auto r = run("policy matrix -f " + (dir_ / "model").string() + " --port 80 -o json");
  ASSERT_EQ(r.status, 0) << r.output;
  auto matrix = nlohmann::json::parse(r.output);
  ASSERT_TRUE(matrix.contains("TCP/80")) << r.output;
  Reachability expected(modelPods(), true);
  expected.expectPeer({"x", ""}, {"x", "a"}, false);
  expected.expectPeer({"z", ""}, {"x", "a"}, false);
  expected.allowLoopback();
  using Table = std::map<std::string, std::map<std::string, bool>>;
  EXPECT_EQ(matrix["TCP/80"].get<Table>(), expected.values());
  EXPECT_EQ(matrix.size(), 1u);
}

TEST_F(Cli, MatrixWithoutAPortCoversEveryDeclaredPort) {
  auto r = run("policy matrix -f " + (dir_ / "model/01-model.yaml").string() + " -f " +
               (dir_ / "model/02-policy.yaml").string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* header : {"TCP/80:\n-\tx/a\tx/b", "TCP/81:", "UDP/80:", "UDP/81:", "SCTP/80:", "SCTP/81:"})
    EXPECT_NE(r.output.find(header), std::string::npos) << header << " in\n" << r.output;
  EXPECT_NE(r.output.find("\nx/b\tX\t.\t."), std::string::npos) << r.output;  // x/b -> x/a blocked on TCP/80
}

TEST_F(Cli, ExplainSaysWhichRuleAllowsOrThatNoneDoes) {
  std::string model = " -f " + (dir_ / "model").string();
  auto allowed = run("policy explain --from y/b --to x/a --port 80" + model);
  ASSERT_EQ(allowed.status, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("y/b -> x/a TCP/80: ALLOWED"), std::string::npos) << allowed.output;
  EXPECT_NE(allowed.output.find("allowed by x/allow-from-y ingress[0].from[0].ports[0]"), std::string::npos)
      << allowed.output;
  auto blocked = run("policy explain --from x/b --to x/a --port 80 --protocol tcp" + model);
  EXPECT_NE(blocked.output.find("BLOCKED"), std::string::npos) << blocked.output;
  EXPECT_NE(blocked.output.find("isolated by x/allow-from-y"), std::string::npos) << blocked.output;
  EXPECT_NE(blocked.output.find("no rule allows it"), std::string::npos) << blocked.output;
  auto json = run("policy explain --from x/b --to x/a --port 81 -o json" + model);
  auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j["allowed"], false);
  EXPECT_EQ(j["ingress"]["policies"], nlohmann::json::array({"x/allow-from-y"}));
  EXPECT_EQ(run("policy explain --from x/nope --to x/a --port 80" + model).status, 1);
}

TEST_F(Cli, ApplyRejectsInvalidManifestsWithoutContactingTheAgent) {
  auto bad = write("bad.yaml",
                   policyYaml("x", "deny", "  ingress:\n  - ports:\n    - port: 80\n    - {port: 80, endPort: 79}"));
  auto r = run("apply -f " + (dir_ / "model").string() + " -f " + bad);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(
      r.output.find(bad +
                    ": NetworkPolicy x/deny: spec.ingress[0].ports[1].endPort: must be greater than or equal to port"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("/nonexistent"), std::string::npos) << "the agent was contacted:\n" << r.output;
  // Valid manifests do go to the agent, which is not there.
  auto good = run("apply -f " + (dir_ / "model").string());
  EXPECT_NE(good.status, 0);
  EXPECT_NE(good.output.find("/nonexistent"), std::string::npos) << good.output;
}

}  // namespace
}  // namespace cnikit::policy::test
