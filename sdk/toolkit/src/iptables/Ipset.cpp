#include <cnikit/toolkit/Ipset.hpp>

#include <libipset/ipset.h>
#include <libipset/session.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <cnikit/toolkit/UniqueFd.hpp>

namespace cnikit::toolkit {

namespace {

std::string format(const char* fmt, va_list args) {
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  return buf;
}

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

std::string joined(const std::string& head, const std::vector<std::string>& errors, const char* separator) {
  std::string message = head;
  for (const auto& e : errors) message += " " + e + separator;
  return message;
}

}  // namespace

Result<std::unique_ptr<Ipset>> Ipset::open() {
  // The set types (hash:ip, ...) are registered once per process, as the ipset tool does.
  static std::once_flag typesLoaded;
  std::call_once(typesLoaded, [] { ipset_load_types(); });
  std::unique_ptr<Ipset> self(new Ipset());
  self->handle_ = ipset_init();
  if (!self->handle_) return Error{ENOPROTOOPT, "cannot open an ipset session (is ip_set in the kernel?)"};
  ipset_custom_printf(self->handle_, &Ipset::onError, &Ipset::onStandardError, &Ipset::onOutput, self.get());
  ipset_envopt_set(ipset_session(self->handle_), IPSET_ENV_EXIST);
  return self;
}

Ipset::~Ipset() {
  if (handle_) ipset_fini(handle_);
}

int Ipset::onOutput(struct ipset_session*, void* self, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (n > 0) static_cast<Ipset*>(self)->output_.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
  return n;
}

int Ipset::onError(struct ipset*, void* self, int, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::string message = format(fmt, args);
  va_end(args);
  static_cast<Ipset*>(self)->errors_.push_back(message);
  return -1;
}

int Ipset::onStandardError(struct ipset* handle, void* self) {
  auto* session = ipset_session(handle);
  const char* message = ipset_session_report_msg(session);
  if (message && *message) {
    std::string text = message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // Warnings (e.g. "already exists" under -exist) are not failures.
    if (ipset_session_report_type(session) > IPSET_WARNING) static_cast<Ipset*>(self)->errors_.push_back(text);
  }
  ipset_session_report_reset(session);
  return -1;
}

Status Ipset::restore(const std::string& script) {
  if (script.empty()) return {};
  errors_.clear();
  std::string text = script;
  std::unique_ptr<FILE, FileCloser> stream(::fmemopen(text.data(), text.size(), "r"));
  if (!stream) return errnoError(errno, "fmemopen for ipset restore");
  int rc = ipset_parse_stream(handle_, stream.get());
  if (!errors_.empty() || rc < 0) {
    std::string message = joined("ipset restore failed:", errors_, ";");
    if (errors_.empty()) message += " error " + std::to_string(rc);
    return Error{EINVAL, message};
  }
  return {};
}

Result<std::vector<std::string>> Ipset::names() {
  errors_.clear();
  output_.clear();
  char line[] = "list -name";
  if (ipset_parse_line(handle_, line) < 0) return Error{EIO, joined("ipset list -name failed:", errors_, "")};
  std::vector<std::string> out;
  size_t start = 0;
  while (start < output_.size()) {
    size_t end = output_.find('\n', start);
    if (end == std::string::npos) end = output_.size();
    if (end > start) out.push_back(output_.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<uint16_t> ipsetIndex(const std::string& name) {
  if (name.size() >= IPSET_MAXNAMELEN) return Error{ENAMETOOLONG, "ipset name too long: " + name};
  UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!fd.valid()) return errnoError(errno, "socket for SO_IP_SET");
  ip_set_req_version version{};
  version.op = IP_SET_OP_VERSION;
  socklen_t size = sizeof version;
  if (::getsockopt(fd.get(), SOL_IP, SO_IP_SET, &version, &size) != 0) return errnoError(errno, "SO_IP_SET version");
  ip_set_req_get_set request{};
  request.op = IP_SET_OP_GET_BYNAME;
  request.version = version.version;
  std::strncpy(request.set.name, name.c_str(), IPSET_MAXNAMELEN - 1);
  size = sizeof request;
  if (::getsockopt(fd.get(), SOL_IP, SO_IP_SET, &request, &size) != 0)
    return errnoError(errno, "SO_IP_SET get " + name);
  return static_cast<uint16_t>(request.set.index);
}

}  // namespace cnikit::toolkit
