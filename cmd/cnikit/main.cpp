// cnikit: the CNI executable. The runtime execs it with CNI_* in the environment and the
// network configuration on stdin. VERSION is answered here; every other verb goes to the
// node agent over its unix socket. stdout carries only the result or the error JSON;
// diagnostics go to stderr.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "core/cni/Error.hpp"
#include "core/cni/Request.hpp"
#include "core/cni/Version.hpp"
#include "core/rpc/AgentProtocol.hpp"
#include "core/rpc/UnixClient.hpp"

namespace {

using namespace cnikit;
using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 2s;
// The agent serialises work per container, so an ADD may queue behind a slow DEL.
constexpr auto kCallTimeout = 120s;
constexpr auto kStatusTimeout = 10s;

void writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report it
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

bool readAllStdin(std::string& out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      // No stdin at all (closed fd) is just an empty config.
      return errno == EBADF;
    }
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

int fail(const cni::CniError& error, const std::string& version) {
  writeAll(STDOUT_FILENO, cni::renderError(error, version) + "\n");
  writeAll(STDERR_FILENO, "cnikit: " + error.msg() + "\n");
  return 1;
}

std::string agentSocket(const cni::Request& req) {
  if (req.conf.raw.is_object()) {
    auto it = req.conf.raw.find("agentSocket");
    if (it != req.conf.raw.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  if (const char* env = std::getenv("CNIKIT_AGENT_SOCKET"); env && *env) return env;
  return cni::kDefaultAgentSocket;
}

}  // namespace

int main() {
  std::string input;
  if (!readAllStdin(input)) {
    return fail(cni::CniError(cni::kIoFailure, std::string("cannot read stdin: ") + std::strerror(errno)), "");
  }
  std::map<std::string, std::string> env;
  for (const char* name : rpc::kCniEnvNames) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }

  cni::Request req;
  try {
    auto it = env.find("CNI_COMMAND");
    auto command = cni::parseCommand(it == env.end() ? std::string() : it->second);
    if (command == cni::Command::Version) {
      writeAll(STDOUT_FILENO, cni::renderVersionInfo(cni::sniffVersion(input)) + "\n");
      return 0;
    }
    // Validate here too: a bad config or environment is reported as such even when the
    // agent is down, and the agent only ever sees well-formed requests.
    req = cni::parseRequest(env, input);
  } catch (const cni::CniError& e) {
    return fail(e, cni::sniffVersion(input));
  } catch (const std::exception& e) {
    return fail(cni::CniError(cni::kInternal, e.what()), cni::sniffVersion(input));
  }

  const std::string socket = agentSocket(req);
  const bool status = req.command == cni::Command::Status;
  auto unreachable = [&](const std::string& reason) {
    return fail(cni::CniError(status ? cni::kPluginNotAvailable : cni::kTryAgainLater,
                              "cnikit agent unreachable at " + socket + ": " + reason),
                req.conf.cniVersion);
  };

  std::string reply;
  try {
    auto client = rpc::UnixClient::connect(socket, kConnectTimeout);
    reply = client.call(rpc::makeCniRequest(env, input), status ? kStatusTimeout : kCallTimeout);
  } catch (const rpc::ConnectError& e) {
    return unreachable(e.reason());
  } catch (const rpc::CallError& e) {
    return unreachable(e.reason());
  }

  rpc::CniResponse response;
  try {
    response = rpc::parseCniResponse(reply);
  } catch (const rpc::ProtocolError& e) {
    return fail(cni::CniError(cni::kInternal, "cnikit agent at " + socket + " sent a bad response: " + e.what()),
                req.conf.cniVersion);
  }
  writeAll(STDOUT_FILENO, response.stdout_);
  writeAll(STDERR_FILENO, response.stderr_);
  return response.exitCode;
}
