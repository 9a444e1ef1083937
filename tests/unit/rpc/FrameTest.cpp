#include "core/rpc/Frame.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <cnikit/toolkit/UniqueFd.hpp>

using namespace cnikit::rpc;
using namespace std::chrono_literals;

namespace {

struct SocketPair {
  cnikit::toolkit::UniqueFd a, b;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

void writeRaw(int fd, const std::string& bytes) {
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

std::string header(uint32_t len) {
  return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
          static_cast<char>(len)};
}

}  // namespace

TEST(Frame, RoundTripSmallAndEmpty) {
  SocketPair sp;
  ASSERT_TRUE(writeFrame(sp.a.get(), R"({"method":"cni"})"));
  ASSERT_TRUE(writeFrame(sp.a.get(), ""));
  EXPECT_EQ(readFrame(sp.b.get()), R"({"method":"cni"})");
  EXPECT_EQ(readFrame(sp.b.get()), "");
}

TEST(Frame, WireFormatIsBigEndianLengthThenPayload) {
  SocketPair sp;
  ASSERT_TRUE(writeFrame(sp.a.get(), "hello"));
  char buf[16];
  ASSERT_EQ(read(sp.b.get(), buf, sizeof(buf)), 9);
  EXPECT_EQ(std::string(buf, 9), std::string("\0\0\0\5hello", 9));
  // And a hand-made frame with a length over 255 reads back.
  std::string body = pattern(300);
  writeRaw(sp.a.get(), std::string("\0\0\x01\x2c", 4) + body);
  EXPECT_EQ(readFrame(sp.b.get()), body);
}

// 12 MiB through a socket whose buffers are far smaller: both sides see partial transfers.
TEST(Frame, LargePayloadWithPartialWrites) {
  SocketPair sp;
  int small = 4096;
  setsockopt(sp.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  setsockopt(sp.b.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  const std::string big = pattern(12u * 1024 * 1024);
  bool wrote = false;
  std::thread writer([&] { wrote = writeFrame(sp.a.get(), big); });
  auto got = readFrame(sp.b.get());
  writer.join();
  EXPECT_TRUE(wrote);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big);
}

TEST(Frame, NonBlockingSocketsAreWaitedOn) {
  SocketPair sp;
  fcntl(sp.a.get(), F_SETFL, O_NONBLOCK);
  fcntl(sp.b.get(), F_SETFL, O_NONBLOCK);
  const std::string big = pattern(3u * 1024 * 1024);
  bool wrote = false;
  std::thread writer([&] { wrote = writeFrame(sp.a.get(), big); });
  auto got = readFrame(sp.b.get());
  writer.join();
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(got && *got == big);
}

TEST(Frame, ReaderAssemblesAFrameSentByteByByte) {
  SocketPair sp;
  const std::string body = R"({"exitCode":0,"stdout":"x"})";
  const std::string wire = header(static_cast<uint32_t>(body.size())) + body;
  std::thread writer([&] {
    for (char c : wire) {
      ASSERT_EQ(write(sp.a.get(), &c, 1), 1);
      std::this_thread::sleep_for(1ms);
    }
  });
  auto got = readFrame(sp.b.get());
  writer.join();
  EXPECT_EQ(got, body);
}

TEST(Frame, OversizePayloadIsNotWritten) {
  SocketPair sp;
  std::string big(kMaxFrameSize + 1, 'x');
  std::string why;
  EXPECT_FALSE(writeFrame(sp.a.get(), big, Deadline::max(), &why));
  EXPECT_NE(why.find("limit"), std::string::npos) << why;
  // Nothing reached the wire.
  fcntl(sp.b.get(), F_SETFL, O_NONBLOCK);
  char c;
  EXPECT_EQ(read(sp.b.get(), &c, 1), -1);
}

TEST(Frame, ExactlyTheLimitIsAccepted) {
  SocketPair sp;
  const std::string big(kMaxFrameSize, 'y');
  bool wrote = false;
  std::thread writer([&] { wrote = writeFrame(sp.a.get(), big); });
  auto got = readFrame(sp.b.get());
  writer.join();
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(got && got->size() == kMaxFrameSize);
}

TEST(Frame, OversizeAnnouncedLengthIsRejected) {
  SocketPair sp;
  writeRaw(sp.a.get(), header(kMaxFrameSize + 1) + "xxxx");
  std::string why;
  EXPECT_EQ(readFrame(sp.b.get(), Deadline::max(), &why), std::nullopt);
  EXPECT_NE(why.find(std::to_string(kMaxFrameSize + 1)), std::string::npos) << why;
  writeRaw(sp.a.get(), header(0xffffffffu));
  EXPECT_EQ(readFrame(sp.b.get()), std::nullopt);
}

TEST(Frame, EofBeforeAndInsideAFrame) {
  {
    SocketPair sp;
    sp.a.reset();
    std::string why;
    EXPECT_EQ(readFrame(sp.b.get(), Deadline::max(), &why), std::nullopt);
    EXPECT_NE(why.find("closed"), std::string::npos);
  }
  {
    SocketPair sp;
    writeRaw(sp.a.get(), header(10) + "abc");
    sp.a.reset();
    std::string why;
    EXPECT_EQ(readFrame(sp.b.get(), Deadline::max(), &why), std::nullopt);
    EXPECT_NE(why.find("middle of a frame"), std::string::npos) << why;
  }
  {
    SocketPair sp;
    writeRaw(sp.a.get(), std::string("\0\0", 2));  // half a header
    sp.a.reset();
    EXPECT_EQ(readFrame(sp.b.get()), std::nullopt);
  }
}

TEST(Frame, WriteToClosedPeerFailsWithoutSigpipe) {
  SocketPair sp;
  sp.b.reset();
  std::string why;
  // Would kill the process with SIGPIPE without MSG_NOSIGNAL.
  EXPECT_FALSE(writeFrame(sp.a.get(), "hello", Deadline::max(), &why));
  EXPECT_FALSE(why.empty());
}

TEST(Frame, ReadDeadlineExpires) {
  SocketPair sp;
  std::string why;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(readFrame(sp.b.get(), start + 80ms, &why), std::nullopt);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 80ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(why, "timed out");
}

TEST(Frame, WriteDeadlineExpiresWhenPeerDoesNotRead) {
  SocketPair sp;
  std::string why;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(writeFrame(sp.a.get(), pattern(8u * 1024 * 1024), start + 100ms, &why));
  EXPECT_EQ(why, "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Frame, WorksOnPipes) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  cnikit::toolkit::UniqueFd r(p[0]), w(p[1]);
  ASSERT_TRUE(writeFrame(w.get(), "through a pipe"));
  EXPECT_EQ(readFrame(r.get()), "through a pipe");
}
