#include <cnikit/toolkit/Error.hpp>

#include <netlink/errno.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cnikit::toolkit {

Error errnoError(int err, const std::string& what) { return Error{err, what + ": " + std::strerror(err)}; }

int nlErrorToErrno(int nlErr) {
  switch (std::abs(nlErr)) {
    case 0: return 0;
    case NLE_EXIST: return EEXIST;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NODEV: return ENODEV;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_BUSY: return EBUSY;
    case NLE_PERM: return EPERM;
    case NLE_NOACCESS: return EACCES;
    case NLE_NOMEM: return ENOMEM;
    case NLE_AGAIN: return EAGAIN;
    case NLE_INTR: return EINTR;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
    case NLE_MSGSIZE: return EMSGSIZE;
    case NLE_BAD_SOCK: return EBADF;
    case NLE_NOATTR: return ENODATA;
    case NLE_IMMUTABLE: return EPERM;
    case NLE_NOCACHE: return ENOENT;
    default: return EIO;
  }
}

Error nlError(int nlErr, const std::string& what) {
  int err = nlErrorToErrno(nlErr);
  return Error{err, what + ": " + std::strerror(err) + " (libnl: " + nl_geterror(nlErr) + ")"};
}

}  // namespace cnikit::toolkit
