#include "core/plugin/BackendInstance.hpp"

#include <cstring>

namespace cnikit::plugin {

namespace {

std::string fixedString(const char* buf, size_t cap) { return std::string(buf, ::strnlen(buf, cap)); }

// The C view of a PodRequest; pointers into request, valid while it lives.
struct CPodRequest {
  std::vector<cnikit_ip_config> ips;
  cnikit_pod_request req{};

  explicit CPodRequest(const PodRequest& r) {
    for (const auto& ip : r.ips) {
      cnikit_ip_config c{};
      c.size = sizeof(c);
      c.family = ip.family;
      c.address = ip.address.c_str();
      c.gateway = ip.gateway.c_str();
      c.subnet = ip.subnet.c_str();
      c.pool_cidr = ip.poolCidr.c_str();
      ips.push_back(c);
    }
    req.size = sizeof(req);
    req.container_id = r.containerId.c_str();
    req.netns = r.netns.c_str();
    req.ifname = r.ifname.c_str();
    req.pod_namespace = r.podNamespace.c_str();
    req.pod_name = r.podName.c_str();
    req.ips = ips.empty() ? nullptr : ips.data();
    req.n_ips = ips.size();
    req.mac = r.mac.c_str();
    req.mtu = r.mtu;
    req.pool = r.pool.c_str();
  }
};

}  // namespace

BackendInstance::BackendInstance(std::shared_ptr<BackendLibrary> library, const std::string& instanceName,
                                 const std::string& nodeName, const std::string& optionsJson,
                                 const std::string& stateDir, std::shared_ptr<HostServices> host,
                                 const Underlay& underlay)
    : library_(std::move(library)), host_(std::move(host)), instanceName_(instanceName) {
  if (!library_) throw BackendError(CNIKIT_ERR_INVALID_ARGUMENT, "backend instance '" + instanceName + "': no library");
  if (!host_) host_ = std::make_shared<HostServices>(instanceName, nullptr, nullptr);
  cnikit_create_args args{};
  args.size = sizeof(args);
  args.instance_name = instanceName.c_str();
  args.node_name = nodeName.c_str();
  args.options_json = optionsJson.empty() ? "{}" : optionsJson.c_str();
  args.state_dir = stateDir.c_str();
  args.host = host_->callbacks();
  args.underlay_interface = underlay.interface.c_str();
  args.underlay_ipv4 = underlay.ipv4.c_str();
  args.underlay_ipv6 = underlay.ipv6.c_str();
  args.underlay_mtu = underlay.mtu;
  const auto& api = library_->api();
  cnikit_status st = api.create(&args, &handle_);
  if (st != CNIKIT_OK || handle_ == nullptr) {
    // create has no handle: the backend keeps its message for last_error(NULL).
    const char* message = api.last_error(nullptr);
    std::string text = message && *message ? message : "no message from the backend";
    if (st == CNIKIT_OK) {
      st = CNIKIT_ERR_INTERNAL;
      text = "create returned OK without a handle";
    }
    handle_ = nullptr;
    throw BackendError(st, "backend '" + library_->name() + "' (" + library_->path().filename().string() +
                               ") failed to create instance '" + instanceName + "': " + text);
  }
}

BackendInstance::~BackendInstance() {
  if (handle_) library_->api().destroy(handle_);
}

bool BackendInstance::supportsPods() const { return library_->api().pod != nullptr; }

namespace {

[[noreturn]] void fail(const cnikit_backend_api& api, cnikit_backend* handle, cnikit_status st, const std::string& what) {
  const char* message = api.last_error(handle);
  throw BackendError(st, what + ": " + (message && *message ? message : "no message from the backend"));
}

}  // namespace

PodResult BackendInstance::podAdd(const PodRequest& request) {
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request);
  cnikit_pod_result out{};
  out.size = sizeof(out);
  cnikit_status st = api.pod->pod_add(handle_, &c.req, &out);
  if (st != CNIKIT_OK)
    fail(api, handle_, st, "backend instance '" + instanceName_ + "' pod_add of container " + request.containerId);
  PodResult r;
  r.hostIfname = fixedString(out.host_ifname, sizeof(out.host_ifname));
  r.hostMac = fixedString(out.host_mac, sizeof(out.host_mac));
  r.containerIfname = fixedString(out.container_ifname, sizeof(out.container_ifname));
  r.containerMac = fixedString(out.container_mac, sizeof(out.container_mac));
  r.mtu = out.mtu;
  return r;
}

void BackendInstance::podDel(const PodRequest& request) {
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request);
  cnikit_status st = api.pod->pod_del(handle_, &c.req);
  if (st != CNIKIT_OK)
    fail(api, handle_, st, "backend instance '" + instanceName_ + "' pod_del of container " + request.containerId);
}

void BackendInstance::podCheck(const PodRequest& request) {
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request);
  cnikit_status st = api.pod->pod_check(handle_, &c.req);
  if (st != CNIKIT_OK)
    fail(api, handle_, st, "backend instance '" + instanceName_ + "' pod_check of container " + request.containerId);
}

std::string BackendInstance::statusJson() {
  const auto& api = library_->api();
  if (!api.status_json) return "{}";
  const char* s = api.status_json(handle_);
  return s && *s ? s : "{}";
}

bool BackendInstance::supportsNodes() const { return library_->api().node != nullptr; }

std::string BackendInstance::localNodeData() {
  const auto& api = library_->api();
  if (!api.node || !api.node->local_node_data) return "{}";
  const char* s = api.node->local_node_data(handle_);
  return s && *s ? s : "{}";
}

void BackendInstance::nodeUpsert(const NodeInfo& node) {
  const auto& api = library_->api();
  if (!api.node) return;
  std::vector<const char*> subnets;
  for (const auto& s : node.subnets) subnets.push_back(s.c_str());
  cnikit_node_info info{};
  info.size = sizeof(info);
  info.name = node.name.c_str();
  info.underlay_ipv4 = node.underlayIpv4.c_str();
  info.underlay_ipv6 = node.underlayIpv6.c_str();
  info.subnets = subnets.data();
  info.n_subnets = subnets.size();
  info.backend_data_json = node.backendDataJson.c_str();
  cnikit_status st = api.node->node_upsert(handle_, &info);
  if (st != CNIKIT_OK) fail(api, handle_, st, "backend instance '" + instanceName_ + "' node_upsert of " + node.name);
}

void BackendInstance::nodeRemove(const std::string& nodeName) {
  const auto& api = library_->api();
  if (!api.node) return;
  cnikit_status st = api.node->node_remove(handle_, nodeName.c_str());
  if (st != CNIKIT_OK) fail(api, handle_, st, "backend instance '" + instanceName_ + "' node_remove of " + nodeName);
}

}  // namespace cnikit::plugin
