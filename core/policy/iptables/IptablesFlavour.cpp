#include "core/policy/iptables/IptablesFlavour.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <vector>

namespace cnikit::policy::iptables {

namespace {

std::optional<std::string> findTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

// Runs the tool (in this thread's netns: the child inherits it) and returns its stdout;
// nullopt when it cannot run or fails. Killed by its pid after 5 s.
std::optional<std::string> capture(const std::string& path) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipeFds[0]);
    ::close(pipeFds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    ::dup2(pipeFds[1], 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 2);
    const char* argv[] = {path.c_str(), nullptr};
    ::execv(path.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(pipeFds[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[8192];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd pfd{pipeFds[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(pipeFds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipeFds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

// -1 when no tool could be run.
int countRules(const std::vector<std::string>& tools, bool cnikit, bool others) {
  int total = -1;
  for (const auto& tool : tools) {
    auto path = findTool(tool);
    if (!path) continue;
    auto text = capture(*path);
    if (!text) continue;
    if (total < 0) total = 0;
    size_t start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      std::string_view line(text->data() + start, end - start);
      if (line.substr(0, 3) == "-A ") {
        bool ours = line.find("CNIKIT") != std::string_view::npos;
        if ((ours && cnikit) || (!ours && others)) ++total;
      }
      start = end + 1;
    }
  }
  return total;
}

}  // namespace

nlohmann::json FlavourReport::toJson() const {
  nlohmann::json j = {{"writes", "legacy"},
                      {"via", "libiptc"},
                      {"nftRules", nftRules},
                      {"legacyRules", legacyRules},
                      {"cnikitLegacyRules", cnikitLegacyRules}};
  if (!warning.empty()) j["warning"] = warning;
  return j;
}

FlavourReport inspectFlavours() {
  FlavourReport report;
  report.nftRules = countRules({"iptables-nft-save", "ip6tables-nft-save"}, true, true);
  report.legacyRules = countRules({"iptables-legacy-save", "ip6tables-legacy-save"}, false, true);
  report.cnikitLegacyRules = countRules({"iptables-legacy-save", "ip6tables-legacy-save"}, true, false);
  if (report.nftRules > 0)
    report.warning = "this node has " + std::to_string(report.nftRules) +
                     " rule(s) in the nf_tables flavour of iptables (what Debian's `iptables` shows: kube-proxy, "
                     "a host firewall) while cnikit writes the legacy tables through libiptc; the kernel enforces "
                     "both, but each tool shows only its own: see cnikit's rules with iptables-legacy-save";
  return report;
}

}  // namespace cnikit::policy::iptables
