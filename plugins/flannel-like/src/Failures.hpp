#pragma once
// Toolkit results -> cnikit::sdk::Error with the status that fits the errno.
#include <cerrno>
#include <string>
#include <utility>

#include <cnikit/backend.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::flannel {

inline cnikit_status statusFor(int code) {
  switch (code) {
    case ENOENT:
    case ENODEV:
    case ESRCH: return CNIKIT_ERR_NOT_FOUND;
    case EEXIST: return CNIKIT_ERR_EXISTS;
    case EINVAL:
    case ERANGE: return CNIKIT_ERR_INVALID_ARGUMENT;
    case EAGAIN:
    case EINTR: return CNIKIT_ERR_TRY_AGAIN;
    case EOPNOTSUPP:
    case EAFNOSUPPORT: return CNIKIT_ERR_UNSUPPORTED;
    default: return CNIKIT_ERR_SYSTEM;
  }
}

[[noreturn]] inline void fail(const toolkit::Error& e, const std::string& context) {
  throw sdk::Error(statusFor(e.code), context.empty() ? e.message : context + ": " + e.message);
}
template <class T>
T must(toolkit::Result<T> r, const std::string& context) {
  if (!r) fail(r.error(), context);
  return std::move(r).value();
}
inline void must(toolkit::Status s, const std::string& context) {
  if (!s) fail(s.error(), context);
}
[[noreturn]] inline void invalid(const std::string& message) { throw sdk::Error(CNIKIT_ERR_INVALID_ARGUMENT, message); }

}  // namespace cnikit::flannel
