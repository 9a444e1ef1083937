#include "core/rpc/AgentProtocol.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace cnikit::rpc;
using nlohmann::json;

TEST(AgentProtocol, RequestHasTheDocumentedShape) {
  auto text = makeCniRequest({{"CNI_COMMAND", "ADD"}, {"CNI_IFNAME", "eth0"}}, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(json::parse(text), json::parse(R"({"method": "cni",
      "env": {"CNI_COMMAND": "ADD", "CNI_IFNAME": "eth0"},
      "stdin": "{\"cniVersion\":\"1.0.0\"}"})"));
}

TEST(AgentProtocol, RequestRoundTrip) {
  std::map<std::string, std::string> env{{"CNI_COMMAND", "DEL"}, {"CNI_ARGS", "A=b;C=d"}, {"CNI_NETNS", ""}};
  const std::string stdinText = "{\n  \"name\": \"n\\u00e9t\"\n}\n";
  auto req = parseCniRequest(makeCniRequest(env, stdinText));
  EXPECT_EQ(req.env, env);
  EXPECT_EQ(req.stdinText, stdinText);  // raw text, byte for byte
}

TEST(AgentProtocol, InvalidUtf8InStdinStillMakesARequest) {
  auto req = parseCniRequest(makeCniRequest({{"CNI_COMMAND", "ADD"}}, "\xff\xfe{"));
  EXPECT_FALSE(req.stdinText.empty());
}

TEST(AgentProtocol, ResponseRoundTrip) {
  CniResponse r{7, R"({"code":7})", "log line\n"};
  auto back = parseCniResponse(makeCniResponse(r));
  EXPECT_EQ(back.exitCode, 7);
  EXPECT_EQ(back.stdout_, r.stdout_);
  EXPECT_EQ(back.stderr_, r.stderr_);
  EXPECT_EQ(json::parse(makeCniResponse({0, "{}", ""})), json::parse(R"({"exitCode": 0, "stdout": "{}"})"));
}

// The agent's path: the frame parsed once (to read "method"), the reply built once.
TEST(AgentProtocol, AnAlreadyParsedFrameGivesTheSameRequestAndReply) {
  std::map<std::string, std::string> env{{"CNI_COMMAND", "ADD"}, {"CNI_IFNAME", "eth0"}};
  const std::string stdinText = R"({"cniVersion":"1.0.0"})";
  auto frame = json::parse(makeCniRequest(env, stdinText));
  auto req = cniRequestFromObject(frame);
  EXPECT_EQ(req.env, env);
  EXPECT_EQ(req.stdinText, stdinText);
  EXPECT_THROW(cniRequestFromObject(json::array()), ProtocolError);
  EXPECT_THROW(cniRequestFromObject(json{{"method", "status"}}), ProtocolError);
  CniResponse r{1, R"({"code":7})", "why\n"};
  EXPECT_EQ(cniResponseObject(r), json::parse(makeCniResponse(r)));
}

TEST(AgentProtocol, BadResponsesAreProtocolErrors) {
  EXPECT_THROW(parseCniResponse("nope"), ProtocolError);
  EXPECT_THROW(parseCniResponse("[]"), ProtocolError);
  EXPECT_THROW(parseCniResponse(R"({"stdout": "x"})"), ProtocolError);
  EXPECT_THROW(parseCniResponse(R"({"exitCode": "0"})"), ProtocolError);
  EXPECT_THROW(parseCniResponse(R"({"exitCode": 300})"), ProtocolError);
  EXPECT_THROW(parseCniResponse(R"({"exitCode": 0, "stdout": 5})"), ProtocolError);
  try {
    parseCniResponse(R"({"exitCode": 0, "stderr": []})");
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("stderr"), std::string::npos);
  }
}

TEST(AgentProtocol, BadRequestsAreProtocolErrors) {
  EXPECT_THROW(parseCniRequest(R"({"env": {}, "stdin": ""})"), ProtocolError);
  EXPECT_THROW(parseCniRequest(R"({"method": "status"})"), ProtocolError);
  EXPECT_THROW(parseCniRequest(R"({"method": "cni", "env": {"CNI_COMMAND": 1}})"), ProtocolError);
  EXPECT_THROW(parseCniRequest(R"({"method": "cni", "env": []})"), ProtocolError);
  EXPECT_THROW(parseCniRequest(R"({"method": "cni", "stdin": {}})"), ProtocolError);
  EXPECT_THROW(parseCniRequest("{"), ProtocolError);
}
