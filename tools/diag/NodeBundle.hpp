#pragma once
// `cnikitctl diag`: one directory per node with everything an operator (or a bug report)
// needs to see why a pod cannot reach another, like `calicoctl node diags`: the agent's
// status, configuration (secrets redacted), store view, recent log and metrics (through the
// agent's diag method), and the kernel state of the node's network namespace — links,
// addresses, routes, rules, neighbours, FDB, forwarding sysctls, iptables (legacy and nft),
// ipsets, BPF programs and maps — read by running the usual tools inside that namespace.
// A part that cannot be read is listed in errors.txt; it never stops the rest.
#include <filesystem>
#include <string>
#include <vector>

namespace cnikit::diag {

struct NodeTarget {
  std::string name;       // directory name in the bundle
  std::string socket;     // the node agent's socket
  std::string netnsPath;  // "" = the namespace cnikitctl runs in
  std::string logFile;    // the agent's log file when known (a lab node), else ""
};

struct NodeBundleResult {
  std::vector<std::string> files;   // written, relative to the node's directory
  std::vector<std::string> errors;  // "routes-ipv6.json: ip: ... (exit 1)"
};

// Writes <dir>/<node.name>/... (the directory is created).
NodeBundleResult collectNode(const NodeTarget& node, const std::filesystem::path& dir);

// <dir>'s content as a gzip-compressed tar file at `out` (tar from PATH). Throws
// std::runtime_error with tar's message when it fails.
void writeArchive(const std::filesystem::path& dir, const std::filesystem::path& out);

}  // namespace cnikit::diag
