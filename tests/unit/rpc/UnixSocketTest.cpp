#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/rpc/Frame.hpp"
#include "core/rpc/UnixClient.hpp"
#include "core/rpc/UnixListener.hpp"

using namespace cnikit::rpc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

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
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Leaves a socket file behind with nobody listening, as a killed agent would.
void makeStaleSocket(const std::string& path) {
  cnikit::toolkit::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
}

}  // namespace

TEST(UnixSocket, ListenerAndClientRoundTrip) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  {
    UnixListener listener(path);
    std::thread server([&] {
      int fd = listener.accept();
      ASSERT_GE(fd, 0);
      cnikit::toolkit::UniqueFd conn(fd);
      // Two calls on one connection: echo with a prefix.
      while (auto req = readFrame(conn.get())) writeFrame(conn.get(), "echo:" + *req);
    });
    {
      auto client = UnixClient::connect(path, 1s);
      EXPECT_EQ(client.call("one", 2s), "echo:one");
      EXPECT_EQ(client.call(std::string(2u * 1024 * 1024, 'z'), 5s).size(), 2u * 1024 * 1024 + 5);
    }
    server.join();
    struct stat st{};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
  }
  EXPECT_FALSE(fs::exists(path)) << "the destructor unlinks the socket";
}

TEST(UnixSocket, ListenerModeIsConfigurable) {
  TempDir dir;
  UnixListener listener(dir.file("private.sock"), 0600);
  struct stat st{};
  ASSERT_EQ(stat(dir.file("private.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UnixSocket, StaleSocketFileIsReplaced) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  makeStaleSocket(path);
  ASSERT_TRUE(fs::exists(path));
  UnixListener listener(path);
  std::thread server([&] {
    cnikit::toolkit::UniqueFd conn(listener.accept());
    if (auto req = readFrame(conn.get())) writeFrame(conn.get(), *req);
  });
  EXPECT_EQ(UnixClient::connect(path, 1s).call("ping", 2s), "ping");
  server.join();
}

TEST(UnixSocket, LiveListenerIsNotStolen) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  UnixListener first(path);
  try {
    UnixListener second(path);
    FAIL() << "a second listener took over a live socket";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("listening"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(path));
}

TEST(UnixSocket, RegularFileInTheWayIsLeftAlone) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  std::ofstream(path) << "not a socket";
  try {
    UnixListener listener(path);
    FAIL() << "bound over a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "not a socket");
}

TEST(UnixSocket, DestructorDoesNotUnlinkAReplacement) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  auto listener = std::make_unique<UnixListener>(path);
  // Someone else (a restarted agent) put its own socket there meanwhile.
  fs::remove(path);
  makeStaleSocket(path);
  listener.reset();
  EXPECT_TRUE(fs::exists(path));
}

TEST(UnixSocket, ConnectToMissingSocketNamesThePath) {
  TempDir dir;
  const auto path = dir.file("nobody.sock");
  try {
    UnixClient::connect(path, 500ms);
    FAIL() << "connected to nothing";
  } catch (const ConnectError& e) {
    EXPECT_EQ(e.error(), ENOENT);
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
}

TEST(UnixSocket, ConnectToStaleSocketIsRefused) {
  TempDir dir;
  const auto path = dir.file("stale.sock");
  makeStaleSocket(path);
  try {
    UnixClient::connect(path, 500ms);
    FAIL() << "connected to a dead socket";
  } catch (const ConnectError& e) {
    EXPECT_EQ(e.error(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(UnixSocket, ConnectErrorIsARuntimeError) {
  EXPECT_THROW(UnixClient::connect("/" + std::string(200, 'x'), 100ms), std::runtime_error);
  try {
    UnixClient::connect("/" + std::string(200, 'x'), 100ms);
  } catch (const ConnectError& e) {
    EXPECT_NE(e.reason().find("longer"), std::string::npos);
  }
}

TEST(UnixSocket, CallTimesOutWhenTheServerDoesNotAnswer) {
  TempDir dir;
  const auto path = dir.file("slow.sock");
  UnixListener listener(path);
  std::atomic<bool> done{false};
  std::thread server([&] {
    cnikit::toolkit::UniqueFd conn(listener.accept());
    readFrame(conn.get());
    while (!done) std::this_thread::sleep_for(5ms);  // hold the connection, say nothing
  });
  auto client = UnixClient::connect(path, 1s);
  auto start = std::chrono::steady_clock::now();
  try {
    client.call("hello?", 150ms);
    FAIL() << "call returned without an answer";
  } catch (const CallError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 3s);
  done = true;
  server.join();
}

TEST(UnixSocket, CallFailsWhenTheServerHangsUp) {
  TempDir dir;
  const auto path = dir.file("rude.sock");
  UnixListener listener(path);
  std::thread server([&] {
    cnikit::toolkit::UniqueFd conn(listener.accept());
    readFrame(conn.get());
  });
  auto client = UnixClient::connect(path, 1s);
  try {
    client.call("hello?", 2s);
    FAIL();
  } catch (const CallError& e) {
    EXPECT_NE(e.reason().find("closed"), std::string::npos) << e.what();
  }
  server.join();
  // The connection is spent after a failed call.
  EXPECT_THROW(client.call("again", 100ms), CallError);
}

TEST(UnixSocket, ShutdownWakesABlockedAccept) {
  TempDir dir;
  UnixListener listener(dir.file("agent.sock"));
  std::atomic<int> got{0};
  std::thread server([&] { got = listener.accept(); });
  std::this_thread::sleep_for(50ms);
  listener.shutdown();
  server.join();
  EXPECT_EQ(got.load(), -1);
  EXPECT_EQ(listener.accept(), -1);
}

TEST(UnixSocket, CloseUnlinksAndIsIdempotent) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  UnixListener listener(path);
  listener.close();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(listener.fd(), -1);
  listener.close();
  EXPECT_THROW(UnixClient::connect(path, 100ms), ConnectError);
}

TEST(UnixSocket, ClientFdIsCloseOnExec) {
  TempDir dir;
  const auto path = dir.file("agent.sock");
  UnixListener listener(path);
  auto client = UnixClient::connect(path, 1s);
  EXPECT_TRUE(fcntl(client.fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(listener.fd(), F_GETFD) & FD_CLOEXEC);
  cnikit::toolkit::UniqueFd accepted(listener.accept());
  EXPECT_TRUE(fcntl(accepted.get(), F_GETFD) & FD_CLOEXEC);
}
