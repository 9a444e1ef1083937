// Runs the built cnikit executable as a runtime would: env + stdin in, stdout/exit code out.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/rpc/AgentProtocol.hpp"
#include "core/rpc/Frame.hpp"
#include "core/rpc/UnixListener.hpp"

using nlohmann::json;
namespace rpc = cnikit::rpc;
namespace fs = std::filesystem;

namespace {

struct RunResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

RunResult runCnikit(const std::map<std::string, std::string>& env, const std::string& input) {
  std::vector<std::string> envText;
  for (const auto& [k, v] : env) envText.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : envText) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in[2], out[2], err[2];
  EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  char* argv[] = {const_cast<char*>(CNIKIT_EXE), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, CNIKIT_EXE, &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  RunResult result;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << CNIKIT_EXE << ": " << strerror(rc);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return result;
  }
  // The writer may exit before reading stdin (it does not for valid calls): ignore EPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::thread writer([fd = in[1], &input] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(fd, input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd);
  });
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  while (open > 0) {
    if (poll(fds, 2, 30000) <= 0) {
      ADD_FAILURE() << "cnikit produced no output for 30 s";
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// A directory for sockets, unique per test process, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/cnkt-" + std::to_string(getpid()) + "-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Speaks the agent protocol on a socket; answers every request with `respond`.
class FakeAgent {
 public:
  using Handler = std::function<std::optional<rpc::CniResponse>(const rpc::CniRequest&)>;

  FakeAgent(const std::string& path, Handler respond) : listener_(path), respond_(std::move(respond)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    listener_.shutdown();
    thread_.join();
  }
  std::vector<rpc::CniRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      int fd = listener_.accept();
      if (fd < 0) return;
      if (auto frame = rpc::readFrame(fd)) {
        auto request = rpc::parseCniRequest(*frame);
        {
          std::lock_guard lock(mu_);
          requests_.push_back(request);
        }
        // nullopt: hang up without answering, like an agent that crashed mid-call.
        if (auto response = respond_(request)) rpc::writeFrame(fd, rpc::makeCniResponse(*response));
      }
      close(fd);
    }
  }

  rpc::UnixListener listener_;
  Handler respond_;
  std::mutex mu_;
  std::vector<rpc::CniRequest> requests_;
  std::thread thread_;
};

const std::vector<std::string> kAllVersions{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

std::map<std::string, std::string> addEnv(const std::string& socketEnv) {
  return {{"CNI_COMMAND", "ADD"},       {"CNI_CONTAINERID", "ctr1"},
          {"CNI_NETNS", "/run/netns/p1"}, {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin"},  {"CNI_ARGS", "K8S_POD_NAMESPACE=web;K8S_POD_NAME=front"},
          {"CNIKIT_AGENT_SOCKET", socketEnv}, {"UNRELATED", "x"}};
}

std::string conf(const std::string& version, const std::string& extra = "") {
  return R"({"cniVersion": ")" + version + R"(", "name": "podnet", "type": "cnikit")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace

TEST(CnikitExe, VersionAnswersWithoutAgent) {
  TempDir dir;
  auto r = runCnikit({{"CNI_COMMAND", "VERSION"}, {"CNIKIT_AGENT_SOCKET", dir.path() + "/none.sock"}},
                     R"({"cniVersion": "0.4.0"})");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), (json{{"cniVersion", "0.4.0"}, {"supportedVersions", kAllVersions}}));
  EXPECT_EQ(r.err, "");
}

TEST(CnikitExe, VersionWithUnsupportedOrNoConfigStillAnswers) {
  auto r = runCnikit({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion": "5.0.0"})");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(json::parse(r.out)["cniVersion"], "5.0.0");
  EXPECT_EQ(json::parse(r.out)["supportedVersions"], kAllVersions);
  r = runCnikit({{"CNI_COMMAND", "VERSION"}}, "");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(json::parse(r.out)["cniVersion"], "1.1.0");
}

TEST(CnikitExe, AddWithoutAgentIsTryAgainLaterNamingTheSocket) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  auto r = runCnikit(addEnv(socket), conf("1.0.0"));
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["code"], 11);
  EXPECT_NE(j["msg"].get<std::string>().find("unreachable at " + socket), std::string::npos) << j.dump();
  EXPECT_NE(j["msg"].get<std::string>().find("No such file or directory"), std::string::npos) << j.dump();
  EXPECT_NE(r.err.find(socket), std::string::npos);  // diagnostics on stderr, not stdout
}

TEST(CnikitExe, ErrorIsRenderedInTheConfigVersion) {
  TempDir dir;
  for (const auto& v : {"0.2.0", "0.3.1"}) {
    auto r = runCnikit(addEnv(dir.path() + "/none.sock"), conf(v));
    EXPECT_EQ(json::parse(r.out)["cniVersion"], v);
  }
}

TEST(CnikitExe, DelWithoutAgentIsTryAgainLater) {
  TempDir dir;
  auto env = addEnv(dir.path() + "/none.sock");
  env["CNI_COMMAND"] = "DEL";
  env.erase("CNI_NETNS");
  auto r = runCnikit(env, conf("0.4.0"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(json::parse(r.out)["code"], 11);
}

TEST(CnikitExe, StatusWithoutAgentIsPluginNotAvailable) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  auto r = runCnikit({{"CNI_COMMAND", "STATUS"}, {"CNIKIT_AGENT_SOCKET", socket}}, conf("1.1.0"));
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["code"], 50);
  EXPECT_NE(j["msg"].get<std::string>().find(socket), std::string::npos);
}

TEST(CnikitExe, MissingCommandIsInvalidEnvironment) {
  auto r = runCnikit({{"CNI_CONTAINERID", "ctr1"}}, conf("1.0.0"));
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["code"], 4);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_NE(j["msg"].get<std::string>().find("CNI_COMMAND"), std::string::npos);
}

TEST(CnikitExe, UnknownCommandIsInvalidEnvironment) {
  auto r = runCnikit({{"CNI_COMMAND", "FROB"}}, conf("1.0.0"));
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["code"], 4);
  EXPECT_NE(j["msg"].get<std::string>().find("FROB"), std::string::npos);
}

TEST(CnikitExe, BadConfigIsReportedEvenWithoutAgent) {
  TempDir dir;
  auto r = runCnikit(addEnv(dir.path() + "/none.sock"), conf("1.0.0", R"("mtu": "abc")"));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(json::parse(r.out)["code"], 7);
  r = runCnikit(addEnv(dir.path() + "/none.sock"), R"({"cniVersion": "1.0.0", )");
  EXPECT_EQ(json::parse(r.out)["code"], 6);
  r = runCnikit(addEnv(dir.path() + "/none.sock"), R"({"cniVersion": "1.0.0", "name": "podnet"})");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(json::parse(r.out)["code"], 7);
  EXPECT_NE(json::parse(r.out)["msg"].get<std::string>().find("\"type\""), std::string::npos) << r.out;
}

TEST(CnikitExe, AddIsForwardedToTheAgent) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  const std::string result =
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/p1"}],)"
      R"("ips":[{"address":"10.244.1.5/24","interface":0}]})"
      "\n";
  FakeAgent agent(socket, [&](const rpc::CniRequest&) {
    return rpc::CniResponse{0, result, "agent: added ctr1/eth0\n"};
  });
  const std::string input = conf("1.0.0", R"("mtu": 1450)");
  auto r = runCnikit(addEnv(socket), input);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, result);  // byte for byte
  EXPECT_NE(r.err.find("agent: added ctr1/eth0"), std::string::npos);

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.stdinText, input);
  EXPECT_EQ(req.env.at("CNI_COMMAND"), "ADD");
  EXPECT_EQ(req.env.at("CNI_CONTAINERID"), "ctr1");
  EXPECT_EQ(req.env.at("CNI_NETNS"), "/run/netns/p1");
  EXPECT_EQ(req.env.at("CNI_IFNAME"), "eth0");
  EXPECT_EQ(req.env.at("CNI_ARGS"), "K8S_POD_NAMESPACE=web;K8S_POD_NAME=front");
  EXPECT_EQ(req.env.at("CNI_PATH"), "/opt/cni/bin");
  EXPECT_EQ(req.env.count("UNRELATED"), 0u);  // only CNI_* is forwarded
  EXPECT_EQ(req.env.count("CNIKIT_AGENT_SOCKET"), 0u);
}

TEST(CnikitExe, AgentErrorsAndExitCodesAreForwarded) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  const std::string error = R"({"cniVersion":"1.0.0","code":101,"msg":"pool blue is exhausted"})";
  FakeAgent agent(socket, [&](const rpc::CniRequest&) { return rpc::CniResponse{3, error, ""}; });
  auto r = runCnikit(addEnv(socket), conf("1.0.0"));
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.out, error);
}

TEST(CnikitExe, ConfigAgentSocketWinsOverEnvironment) {
  TempDir dir;
  const std::string socket = dir.path() + "/real.sock";
  FakeAgent agent(socket, [](const rpc::CniRequest&) { return rpc::CniResponse{0, "{}", ""}; });
  auto r = runCnikit(addEnv(dir.path() + "/wrong.sock"), conf("1.0.0", R"("agentSocket": ")" + socket + "\""));
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_EQ(agent.requests().size(), 1u);
}

TEST(CnikitExe, AgentHangingUpIsTryAgainLater) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  FakeAgent agent(socket, [](const rpc::CniRequest&) { return std::optional<rpc::CniResponse>(); });
  auto r = runCnikit(addEnv(socket), conf("1.1.0"));
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["code"], 11);
  EXPECT_NE(j["msg"].get<std::string>().find(socket), std::string::npos);
  EXPECT_NE(j["msg"].get<std::string>().find("closed"), std::string::npos) << j.dump();
}

TEST(CnikitExe, GarbageFromAgentIsAnInternalError) {
  TempDir dir;
  const std::string socket = dir.path() + "/cnikitd.sock";
  rpc::UnixListener listener(socket);
  std::thread agent([&] {
    int fd = listener.accept();
    if (fd < 0) return;
    rpc::readFrame(fd);
    rpc::writeFrame(fd, "not json");
    close(fd);
  });
  auto r = runCnikit(addEnv(socket), conf("1.0.0"));
  agent.join();
  EXPECT_EQ(r.exitCode, 1);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["code"], 199);
  EXPECT_NE(j["msg"].get<std::string>().find(socket), std::string::npos);
}
