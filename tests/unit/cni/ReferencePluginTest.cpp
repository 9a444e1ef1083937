// Cross-check against the reference CNI plugins (Debian's containernetworking-plugins in
// /usr/lib/cni): their host-local IPAM results, in every version it speaks, must parse
// with our parser and render back to the same JSON. host-local needs no privileges here:
// its state goes to a temporary dataDir and nothing touches a network namespace.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/cni/Result.hpp"
#include "core/cni/Version.hpp"

using namespace cnikit::cni;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kHostLocal = "/usr/lib/cni/host-local";

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace

TEST(ReferencePlugin, HostLocalResultsParseInEveryVersionItSpeaks) {
  if (access(kHostLocal, X_OK) != 0) GTEST_SKIP() << kHostLocal << " is not installed";
  std::string tmpl = "/tmp/cnkt-" + std::to_string(getpid()) + "-XXXXXX";
  const fs::path dir = mkdtemp(tmpl.data());
  auto supported = json::parse(run("CNI_COMMAND=VERSION " + std::string(kHostLocal) + " </dev/null"));
  int checked = 0;
  for (const auto& v : supportedVersions()) {
    if (std::find(supported["supportedVersions"].begin(), supported["supportedVersions"].end(), v) ==
        supported["supportedVersions"].end()) {
      continue;
    }
    json conf = {{"cniVersion", v},
                 {"name", "cnkt-ref"},
                 {"type", "host-local"},
                 {"ipam",
                  {{"type", "host-local"},
                   {"dataDir", (dir / "data").string()},
                   {"ranges", json::parse(R"([[{"subnet": "10.99.0.0/24", "gateway": "10.99.0.1"}],
                                              [{"subnet": "fd99::/64"}]])")},
                   {"routes", json::parse(R"([{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd99::fe"}])")}}}};
    std::ofstream(dir / "conf.json") << conf.dump();
    auto out = run("CNI_COMMAND=ADD CNI_CONTAINERID=ref" + std::to_string(checked) +
                   " CNI_NETNS=/nonexistent CNI_NETNS_OVERRIDE=1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni " +
                   kHostLocal + " <" + (dir / "conf.json").string());
    json produced = json::parse(out);
    ASSERT_FALSE(produced.contains("code")) << v << ": " << out;
    Result parsed = parseResult(produced, v);
    EXPECT_EQ(parsed.ips.size(), 2u) << v;
    EXPECT_EQ(parsed.routes.size(), 2u) << v;
    // host-local prints an empty "dns": {}; we leave empty parts out. Otherwise identical.
    if (produced.contains("dns") && produced["dns"].empty()) produced.erase("dns");
    EXPECT_EQ(renderResult(parsed, v), produced) << v;
    ++checked;
  }
  EXPECT_GE(checked, 5) << "host-local should speak 0.1.0 .. 1.0.0";
  fs::remove_all(dir);
}
