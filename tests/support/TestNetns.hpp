#pragma once
// A named network namespace for one test, made the iproute2 way (`ip netns add`, a bind
// mount at /run/netns/<name>) so that tools and runtimes can find it by name. Its name is
// "cnkt-<pid>-<base>", its loopback is up, and the destructor deletes it (also when the test
// failed); NetnsSweeper removes what a crashed process left.
#include <string>

namespace cnikit::testing {

class TestNetns {
 public:
  // Throws std::runtime_error with the command's output when the namespace cannot be made.
  explicit TestNetns(const std::string& base);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }  // "cnkt-<pid>-<base>"
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
};

}  // namespace cnikit::testing
