#pragma once
// A network namespace held open by an fd: the pod's netns given by path, or the netns the
// calling thread is in. Holding the fd keeps the namespace alive while we work in it.
#include <sys/types.h>

#include <string>

#include <cnikit/toolkit/Result.hpp>
#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::toolkit {

// Identity of a namespace (the nsfs inode); equal ids mean the same namespace.
struct NetnsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NetnsId&) const = default;
};

class Netns {
 public:
  // Opens a netns file (/run/netns/x, /proc/<pid>/ns/net). ENOENT when the path does not
  // exist, EINVAL when it is not a network namespace; both name the path.
  static Result<Netns> open(const std::string& path);
  // The netns of the calling thread (/proc/thread-self/ns/net, not the process's).
  static Result<Netns> current();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  NetnsId id() const { return id_; }
  bool sameAs(const Netns& other) const { return id_ == other.id_; }

 private:
  Netns(UniqueFd fd, std::string path, NetnsId id) : fd_(std::move(fd)), path_(std::move(path)), id_(id) {}
  UniqueFd fd_;
  std::string path_;
  NetnsId id_;
};

}  // namespace cnikit::toolkit
