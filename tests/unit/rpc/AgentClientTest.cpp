// rpc::AgentClient against a scripted agent on a real unix socket: the request it sends, the
// answers it returns, and the errors it throws.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>
#include "core/rpc/AgentClient.hpp"
#include "core/rpc/AgentMethods.hpp"
#include "core/rpc/AgentProtocol.hpp"
#include "core/rpc/Frame.hpp"
#include "core/rpc/UnixListener.hpp"

using namespace cnikit::rpc;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Serves one connection: records the request and answers with reply(request).
class ScriptedAgent {
 public:
  explicit ScriptedAgent(std::function<std::string(const std::string&)> reply)
      : dir_(makeDir()), listener_(dir_ + "/agent.sock") {
    server_ = std::thread([this, reply] {
      cnikit::toolkit::UniqueFd conn(listener_.accept());
      if (auto request = readFrame(conn.get())) {
        request_ = *request;
        writeFrame(conn.get(), reply(*request));
      }
    });
  }
  ~ScriptedAgent() {
    if (server_.joinable()) server_.join();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string socket() const { return listener_.path(); }
  json request() {
    server_.join();
    return json::parse(request_);
  }

 private:
  static std::string makeDir() {
    std::string tmpl = "/tmp/cnkt-agentclient-" + std::to_string(getpid()) + "-XXXXXX";
    return mkdtemp(tmpl.data());
  }
  std::string dir_;
  UnixListener listener_;
  std::string request_;
  std::thread server_;
};

}  // namespace

TEST(AgentClient, SendsTheMethodWithItsParametersAndReturnsTheAnswer) {
  ScriptedAgent agent([](const std::string&) { return R"({"results": [1, 2]})"; });
  auto answer = AgentClient(agent.socket()).call(kObjectsDeleteMethod, {{"refs", json::array()}});
  EXPECT_EQ(answer, json::parse(R"({"results": [1, 2]})"));
  EXPECT_EQ(agent.request(), json::parse(R"({"method": "objects.delete", "refs": []})"));
}

TEST(AgentClient, AMethodWithoutParametersSendsOnlyTheMethod) {
  ScriptedAgent agent([](const std::string&) { return R"({"version": "x"})"; });
  EXPECT_EQ(AgentClient(agent.socket()).call(kVersionMethod)["version"], "x");
  EXPECT_EQ(agent.request(), json::parse(R"({"method": "version"})"));
}

TEST(AgentClient, AnAgentErrorIsThrownWithTheSocketAndTheFieldErrors) {
  ScriptedAgent agent([](const std::string&) { return R"({"error": "bad pod", "errors": ["metadata.name"]})"; });
  try {
    AgentClient(agent.socket()).call(kObjectsApplyMethod, {{"objects", json::array()}});
    FAIL() << "no AgentError";
  } catch (const AgentError& e) {
    EXPECT_EQ(std::string(e.what()), "agent at " + agent.socket() + ": bad pod");
    EXPECT_EQ(e.errors(), json::array({"metadata.name"}));
  }
}

TEST(AgentClient, AnAnswerThatIsNotJsonIsAProtocolError) {
  ScriptedAgent agent([](const std::string&) { return "not json"; });
  EXPECT_THROW(AgentClient(agent.socket()).call(kStatusMethod), ProtocolError);
}

TEST(AgentClient, ParametersMustBeAnObjectAndNothingIsSentOtherwise) {
  EXPECT_THROW(AgentClient("/nonexistent/agent.sock").call(kStatusMethod, json::array({1})), std::invalid_argument);
}

TEST(AgentClient, NoAgentIsAConnectErrorNamingTheSocket) {
  try {
    AgentClient("/nonexistent/agent.sock", 100ms).call(kStatusMethod);
    FAIL() << "no ConnectError";
  } catch (const ConnectError& e) {
    EXPECT_EQ(e.path(), "/nonexistent/agent.sock");
  }
}
