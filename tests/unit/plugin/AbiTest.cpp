// ABI negotiation and the loader's refusals, with real libraries built from abi_backend.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "TestLibraries.hpp"
#include "core/plugin/BackendInstance.hpp"

using namespace cnikit::plugin;
using cnikit::test::TempDir;
using ::testing::HasSubstr;

namespace {

std::string hostVersion() { return std::to_string(CNIKIT_ABI_MAJOR) + "." + std::to_string(CNIKIT_ABI_MINOR); }

std::string loadError(const std::filesystem::path& path) {
  try {
    BackendLibrary::load(path);
  } catch (const LoadError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << path << " did not fail";
  return "";
}

cnikit_backend_api tableClaiming(uint32_t major, uint32_t minor) {
  static auto create = [](const cnikit_create_args*, cnikit_backend**) { return CNIKIT_ERR_INTERNAL; };
  static auto destroy = [](cnikit_backend*) {};
  static auto lastError = [](cnikit_backend*) { return ""; };
  cnikit_backend_api api{};
  api.size = sizeof(api);
  api.abi_major = major;
  api.abi_minor = minor;
  api.name = "table";
  api.version = "1";
  api.create = create;
  api.destroy = destroy;
  api.last_error = lastError;
  return api;
}

}  // namespace

TEST(Abi, GoodBackendLoadsAndCreates) {
  CNIKIT_REQUIRE_ROOT();
  auto lib = BackendLibrary::load(cnikit::test::kGoodBackend);
  EXPECT_EQ(lib->name(), "abi-test");
  EXPECT_EQ(lib->version(), "0.0.1");
  EXPECT_EQ(lib->api().abi_major, CNIKIT_ABI_MAJOR);
  EXPECT_EQ(lib->api().abi_minor, CNIKIT_ABI_MINOR);
  EXPECT_TRUE(lib->capabilities().empty());
  BackendInstance instance(lib, CreateSpec{.instanceName = "abi", .nodeName = "node-1", .stateDir = "/tmp"});
  EXPECT_FALSE(instance.supportsPods());
  EXPECT_EQ(instance.statusJson(), "{}");  // no status_json in the table
  try {
    instance.podAdd({});
    FAIL() << "podAdd on a backend without pods";
  } catch (const BackendError& e) {
    EXPECT_EQ(e.status(), CNIKIT_ERR_UNSUPPORTED);
    EXPECT_THAT(e.what(), HasSubstr("abi"));
  }
}

TEST(Abi, OlderMinorAccepted) {
  CNIKIT_REQUIRE_ROOT();
  // The good library claims the current minor; a host with a newer minor must take it.
  auto lib = BackendLibrary::load(cnikit::test::kGoodBackend);
  EXPECT_NO_THROW(checkAbi(&lib->api(), "libgood.so", CNIKIT_ABI_MAJOR, CNIKIT_ABI_MINOR + 3));
  auto older = tableClaiming(1, 0);
  EXPECT_NO_THROW(checkAbi(&older, "libolder.so", 1, 7));
}

TEST(Abi, OtherMajorRefusedNamingBothVersions) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kOtherMajorBackend);
  EXPECT_THAT(message, HasSubstr("ABI major " + std::to_string(CNIKIT_ABI_MAJOR + 1)));
  EXPECT_THAT(message, HasSubstr("this host provides " + hostVersion()));
  EXPECT_THAT(message, HasSubstr(cnikit::test::kOtherMajorBackend.filename().string()));

  auto older = tableClaiming(0, 9);
  try {
    checkAbi(&older, "libold.so", 1, 2);
    FAIL() << "major 0 accepted by a major 1 host";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("libold.so was built for ABI major 0 (cnikit ABI 0.9) but this host provides 1.2"));
  }
}

TEST(Abi, NewerMinorRefusedNamingBothVersions) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kNewerMinorBackend);
  std::string needed = std::to_string(CNIKIT_ABI_MAJOR) + "." + std::to_string(CNIKIT_ABI_MINOR + 1);
  EXPECT_THAT(message, HasSubstr("backend 'abi-test' (" + cnikit::test::kNewerMinorBackend.filename().string() +
                                 ") needs cnikit ABI " + needed + " but this host provides " + hostVersion()));

  auto newer = tableClaiming(1, 3);
  try {
    checkAbi(&newer, "libx.so", 1, 0);
    FAIL() << "minor 3 accepted by a 1.0 host";
  } catch (const LoadError& e) {
    EXPECT_STREQ(e.what(), "backend 'table' (libx.so) needs cnikit ABI 1.3 but this host provides 1.0");
  }
}

TEST(Abi, MissingEntrySymbolRefused) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kNoEntryBackend);
  EXPECT_THAT(message, HasSubstr("does not export cnikit_backend_entry"));
  EXPECT_THAT(message, HasSubstr(cnikit::test::kNoEntryBackend.string()));
}

TEST(Abi, NullTableRefused) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kNullTableBackend);
  EXPECT_THAT(message, HasSubstr("no function table (NULL)"));
  EXPECT_THAT(message, HasSubstr(cnikit::test::kNullTableBackend.filename().string()));
  EXPECT_THAT(message, HasSubstr("host ABI " + hostVersion()));
}

TEST(Abi, MalformedTablesRefused) {
  auto small = tableClaiming(1, 0);
  small.size = offsetof(cnikit_backend_api, lifecycle) - sizeof(void*);  // short of ABI 1.0
  EXPECT_THROW(checkAbi(&small, "libsmall.so", 1, 0), LoadError);

  auto noCreate = tableClaiming(1, 0);
  noCreate.create = nullptr;
  try {
    checkAbi(&noCreate, "libnocreate.so", 1, 0);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("mandatory function"));
  }

  // A table bigger than this host knows is fine only with a zero tail.
  struct Bigger {
    cnikit_backend_api api;
    uint64_t extra;
  } bigger{tableClaiming(1, 0), 0};
  bigger.api.size = sizeof(Bigger);
  EXPECT_NO_THROW(checkAbi(&bigger.api, "libbig.so", 1, 0));
  bigger.extra = 1;
  try {
    checkAbi(&bigger.api, "libbig.so", 1, 0);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("non-zero bytes"));
  }

  auto badPod = tableClaiming(1, 0);
  cnikit_pod_ops pod{};
  pod.size = sizeof(pod) - 8;
  badPod.pod = &pod;
  EXPECT_THROW(checkAbi(&badPod, "libpod.so", 1, 0), LoadError);
}

TEST(Abi, ReservedTablesRefused) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kReservedTableBackend);
  EXPECT_THAT(message, HasSubstr("sets the policy table, which this host does not offer"));
  EXPECT_THAT(message, HasSubstr("must be NULL"));

  cnikit_flow_ops flows{sizeof(cnikit_flow_ops), nullptr};
  auto withFlows = tableClaiming(1, 0);
  withFlows.flows = &flows;
  try {
    checkAbi(&withFlows, "libflows.so", 1, 1);
    FAIL() << "a reserved table was accepted";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("sets the flows table"));
  }
}

TEST(Abi, EveryFunctionOfAnOfferedTableIsChecked) {
  CNIKIT_REQUIRE_ROOT();
  std::string message = loadError(cnikit::test::kNullLifecycleEntryBackend);
  EXPECT_THAT(message, HasSubstr("its lifecycle table has a NULL shutdown"));

  cnikit_node_ops node{sizeof(cnikit_node_ops), nullptr, nullptr, nullptr};
  auto withNode = tableClaiming(1, 0);
  withNode.node = &node;
  try {
    checkAbi(&withNode, "libnode.so", 1, 1);
    FAIL() << "a node table with NULL functions was accepted";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("its node table has a NULL local_node_data"));
  }
}

TEST(Abi, LifecycleOfA1_0TableIsNotRead) {
  // A 1.0 table ends before the lifecycle field: whatever lies beyond is not the backend's.
  struct {
    cnikit_backend_api api;
  } padded{tableClaiming(1, 1)};
  padded.api.size = offsetof(cnikit_backend_api, lifecycle);
  padded.api.lifecycle = reinterpret_cast<const cnikit_lifecycle_ops*>(0x1);
  EXPECT_EQ(lifecycleOf(padded.api), nullptr);
  EXPECT_EQ(optionsSchemaOf(padded.api), nullptr);
}

TEST(Abi, UnsafeFilesRefused) {
  CNIKIT_REQUIRE_ROOT();
  TempDir dir;
  auto copy = dir.path() / "libcnikit-copy.so";
  std::filesystem::copy_file(cnikit::test::kGoodBackend, copy);
  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  EXPECT_NO_THROW(BackendLibrary::load(copy));  // the copy itself is fine

  ASSERT_EQ(::chmod(copy.c_str(), 0775), 0);
  std::string message = loadError(copy);
  EXPECT_THAT(message, HasSubstr(copy.string()));
  EXPECT_THAT(message, HasSubstr("group-writable"));

  ASSERT_EQ(::chmod(copy.c_str(), 0757), 0);
  message = loadError(copy);
  EXPECT_THAT(message, HasSubstr(copy.string()));
  EXPECT_THAT(message, HasSubstr("world-writable"));

  // A symlink is judged by what it points to.
  auto link = dir.path() / "libcnikit-link.so";
  std::filesystem::create_symlink(copy, link);
  message = loadError(link);
  EXPECT_THAT(message, HasSubstr(copy.string()));
  EXPECT_THAT(message, HasSubstr("world-writable"));

  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  ASSERT_EQ(::chown(copy.c_str(), 65534, 65534), 0);  // nobody
  message = loadError(copy);
  EXPECT_THAT(message, HasSubstr(copy.string()));
  EXPECT_THAT(message, HasSubstr("owned by uid 65534, not root"));

  message = loadError(dir.path());
  EXPECT_THAT(message, HasSubstr(dir.path().string()));
  EXPECT_THAT(message, HasSubstr("not a regular file"));

  message = loadError(dir.path() / "missing.so");
  EXPECT_THAT(message, HasSubstr("missing.so"));
}

TEST(Abi, LocateFindsBothNamingSchemes) {
  TempDir dir;
  std::filesystem::copy_file(cnikit::test::kGoodBackend, dir.path() / "libcnikit-alpha.so");
  std::filesystem::copy_file(cnikit::test::kGoodBackend, dir.path() / "beta.so");
  EXPECT_EQ(BackendLibrary::locate(dir.path(), "alpha"), dir.path() / "libcnikit-alpha.so");
  EXPECT_EQ(BackendLibrary::locate(dir.path(), "beta"), dir.path() / "beta.so");
  try {
    BackendLibrary::locate(dir.path(), "gamma");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("libcnikit-gamma.so"));
    EXPECT_THAT(e.what(), HasSubstr(dir.path().string()));
  }
  EXPECT_THROW(BackendLibrary::locate(dir.path(), "../etc/x"), LoadError);
}
