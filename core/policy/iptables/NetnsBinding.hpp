#pragma once
// Remembers the network namespace of the thread that made it, and lets any later caller run
// in it: iptables, ipset and sysctl work act on the namespace of the calling thread, and the
// provider must always act on the node's, whichever thread (a store watch, a CNI request)
// calls it.
#include <sys/types.h>

namespace cnikit::policy::iptables {

class NetnsBinding {
 public:
  NetnsBinding();  // binds to the calling thread's namespace; throws std::runtime_error
  ~NetnsBinding();
  NetnsBinding(const NetnsBinding&) = delete;
  NetnsBinding& operator=(const NetnsBinding&) = delete;

  int fd() const { return fd_; }
  ino_t inode() const { return inode_; }

  // While alive, the calling thread is in the bound namespace (entered only when it was
  // elsewhere; restored on destruction).
  class Scope {
   public:
    explicit Scope(const NetnsBinding& binding);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    int previous_ = -1;
  };

 private:
  int fd_ = -1;
  ino_t inode_ = 0;
};

}  // namespace cnikit::policy::iptables
