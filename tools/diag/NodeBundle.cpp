#include "tools/diag/NodeBundle.hpp"

#include <cerrno>
#include <fstream>
#include <stdexcept>

#include <cnikit/toolkit/Process.hpp>
#include <nlohmann/json.hpp>

#include "core/rpc/AgentClient.hpp"
#include "core/rpc/AgentMethods.hpp"

namespace cnikit::diag {

using nlohmann::json;

namespace {

// One file of the bundle made by a tool run in the node's namespace.
struct ToolFile {
  const char* file;
  std::vector<std::string> argv;
  bool optional = false;  // a tool that may be absent (bpftool, nft): no error when missing
};

const std::vector<ToolFile>& toolFiles() {
  static const std::vector<ToolFile> files = {
      {"links.json", {"ip", "-d", "-j", "link", "show"}},
      {"addresses.json", {"ip", "-j", "address", "show"}},
      {"routes-ipv4.json", {"ip", "-4", "-j", "route", "show", "table", "all"}},
      {"routes-ipv6.json", {"ip", "-6", "-j", "route", "show", "table", "all"}},
      {"rules-ipv4.json", {"ip", "-4", "-j", "rule", "show"}},
      {"rules-ipv6.json", {"ip", "-6", "-j", "rule", "show"}},
      {"neighbours.json", {"ip", "-j", "neighbour", "show"}},
      {"fdb.json", {"bridge", "-j", "fdb", "show"}},
      {"sysctl.txt",
       {"sysctl", "-a", "-r",
        R"(^net\.(ipv4\.(ip_forward|conf\..*\.(rp_filter|proxy_arp|forwarding))|ipv6\.conf\..*\.(forwarding|proxy_ndp)|bridge\.))"}},
      {"iptables-legacy.txt", {"iptables-legacy-save", "-c"}, true},
      {"ip6tables-legacy.txt", {"ip6tables-legacy-save", "-c"}, true},
      {"iptables-nft.txt", {"iptables-nft-save", "-c"}, true},
      {"ip6tables-nft.txt", {"ip6tables-nft-save", "-c"}, true},
      {"ipset.txt", {"ipset", "save"}, true},
      {"bpf-net.json", {"bpftool", "-j", "net", "show"}, true},
      {"bpf-programs.json", {"bpftool", "-j", "prog", "show"}, true},
      {"bpf-maps.json", {"bpftool", "-j", "map", "show"}, true},
  };
  return files;
}

void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string lastLines(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

}  // namespace

NodeBundleResult collectNode(const NodeTarget& node, const std::filesystem::path& dir) {
  NodeBundleResult result;
  const auto nodeDir = dir / node.name;
  std::filesystem::create_directories(nodeDir);
  auto keep = [&](const std::string& file, const std::string& text) {
    writeFile(nodeDir / file, text);
    result.files.push_back(file);
  };

  rpc::AgentClient agent(node.socket);
  try {
    keep("status.json", agent.call(rpc::kStatusMethod).dump(2) + "\n");
  } catch (const std::exception& e) {
    result.errors.push_back(std::string("status.json: ") + e.what());
  }
  try {
    auto diagnostics = agent.call(rpc::kDiagMethod);
    keep("config.json", diagnostics.value("config", json::object()).dump(2) + "\n");
    keep("store.json", diagnostics.value("store", json::object()).dump(2) + "\n");
    std::string log;
    for (const auto& line : diagnostics.value("log", json::array())) log += line.get<std::string>() + "\n";
    keep("agent-recent.log", log);
    keep("metrics.txt", diagnostics.value("metrics", ""));
  } catch (const std::exception& e) {
    result.errors.push_back(std::string("config.json, store.json, agent-recent.log, metrics.txt: ") + e.what());
  }
  if (!node.logFile.empty() && std::filesystem::exists(node.logFile)) keep("agent.log", lastLines(node.logFile, 5000));

  for (const auto& tool : toolFiles()) {
    auto run =
        toolkit::runProcess({.argv = tool.argv, .netnsPath = node.netnsPath, .timeout = std::chrono::seconds(20)});
    if (!run) {
      if (!(tool.optional && run.error().code == ENOENT))
        result.errors.push_back(std::string(tool.file) + ": " + run.error().message);
    } else if (run->succeeded()) {
      keep(tool.file, run->out);
    } else {
      result.errors.push_back(std::string(tool.file) + ": " + run->describe(tool.argv));
    }
  }
  std::string errors;
  for (const auto& e : result.errors) errors += e + "\n";
  writeFile(nodeDir / "errors.txt", errors);
  return result;
}

void writeArchive(const std::filesystem::path& dir, const std::filesystem::path& out) {
  auto run = toolkit::runProcess({.argv = {"tar", "-C", dir.parent_path().string(), "-czf",
                                           std::filesystem::absolute(out).string(), dir.filename().string()},
                                  .timeout = std::chrono::seconds(120)});
  if (!run) throw std::runtime_error("tar " + out.string() + ": " + run.error().message);
  if (!run->succeeded()) throw std::runtime_error(run->describe({"tar", out.string()}));
}

}  // namespace cnikit::diag
