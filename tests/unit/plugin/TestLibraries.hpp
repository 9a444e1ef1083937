#pragma once
// Paths of the test backends (set by CMake) and helpers shared by the plugin tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace cnikit::test {

inline const std::filesystem::path kGoodBackend = PLUGIN_TEST_GOOD;
inline const std::filesystem::path kOtherMajorBackend = PLUGIN_TEST_OTHER_MAJOR;
inline const std::filesystem::path kNewerMinorBackend = PLUGIN_TEST_NEWER_MINOR;
inline const std::filesystem::path kNoEntryBackend = PLUGIN_TEST_NO_ENTRY;
inline const std::filesystem::path kNullTableBackend = PLUGIN_TEST_NULL_TABLE;
inline const std::filesystem::path kReservedTableBackend = PLUGIN_TEST_RESERVED_TABLE;
inline const std::filesystem::path kNullLifecycleEntryBackend = PLUGIN_TEST_NULL_LIFECYCLE_ENTRY;
inline const std::filesystem::path kWrapperBackend = PLUGIN_TEST_WRAPPER;
inline const std::filesystem::path kWrapperFullBackend = PLUGIN_TEST_WRAPPER_FULL;

// The loader only accepts root-owned files; built by another user they cannot load.
#define CNIKIT_REQUIRE_ROOT()                                                          \
  do {                                                                                 \
    if (::geteuid() != 0) GTEST_SKIP() << "loading backends needs root-owned files"; \
  } while (0)

// Defined function symbols of a shared library's dynamic symbol table (nm -D).
inline std::vector<std::string> exportedFunctions(const std::filesystem::path& lib) {
  std::string cmd = "nm -D --defined-only '" + lib.string() + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  std::vector<std::string> out;
  char line[1024];
  while (std::fgets(line, sizeof(line), p)) {
    // "<address> <type> <name>": T/t text, W/w weak, i indirect are functions.
    char type = 0;
    char name[900] = {0};
    if (std::sscanf(line, "%*s %c %899s", &type, name) == 2 &&
        (type == 'T' || type == 'W' || type == 'i' || type == 't' || type == 'w'))
      out.emplace_back(name);
  }
  int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error(cmd + " failed with status " + std::to_string(rc));
  return out;
}

// A temporary directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cnkt-plugin-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cnikit::test
