#include "core/plugin/BackendInstance.hpp"

#include <cnikit/toolkit/IpPrefix.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace cnikit::plugin {

namespace {

std::string fixedString(const char* buf, size_t cap) { return std::string(buf, ::strnlen(buf, cap)); }
std::string text(const char* s) { return s ? s : ""; }

// What a backend built for ABI 1.0 knows of each struct the host sends: it refuses a larger
// struct with non-zero bytes it does not know, so it gets the 1.0 prefix only.
template <class S>
size_t sentSize(uint32_t minor, size_t sizeAt1_0) {
  return minor >= 1 ? sizeof(S) : sizeAt1_0;
}
constexpr size_t kCreateArgs1_0 = offsetof(cnikit_create_args, pools);
constexpr size_t kCallbacks1_0 = offsetof(cnikit_host_callbacks, store_get_revision);
constexpr size_t kIpConfig1_0 = offsetof(cnikit_ip_config, address_bytes);
constexpr size_t kPodRequest1_0 = offsetof(cnikit_pod_request, pod_labels_json);
constexpr size_t kNodeInfo1_0 = offsetof(cnikit_node_info, labels_json);

// "10.244.1.5/24" (or a bare gateway address) -> bytes and prefix length; zero when the text
// is not an address.
void addressBytes(const std::string& text, uint8_t* bytes, uint32_t* prefix) {
  auto parsed = toolkit::IpPrefix::tryParse(text, {.bareAddress = true});
  if (!parsed) {
    std::memset(bytes, 0, 16);
    return;
  }
  std::memcpy(bytes, parsed->address().bytes().data(), 16);
  if (prefix) *prefix = static_cast<uint32_t>(parsed->prefixLength());
}

// The C view of a PodRequest for a backend of a given minor; pointers into the request,
// valid while both live.
struct CPodRequest {
  std::vector<unsigned char> ips;  // elements of the stride the backend knows
  cnikit_pod_request req{};

  CPodRequest(const PodRequest& r, uint32_t minor) {
    const size_t stride = sentSize<cnikit_ip_config>(minor, kIpConfig1_0);
    ips.resize(stride * r.ips.size());
    for (size_t i = 0; i < r.ips.size(); ++i) {
      const auto& ip = r.ips[i];
      cnikit_ip_config c{};
      c.size = stride;
      c.family = ip.family;
      c.address = ip.address.c_str();
      c.gateway = ip.gateway.c_str();
      c.subnet = ip.subnet.c_str();
      c.pool_cidr = ip.poolCidr.c_str();
      addressBytes(ip.address, c.address_bytes, &c.prefix_length);
      if (!ip.gateway.empty()) addressBytes(ip.gateway, c.gateway_bytes, nullptr);
      std::memcpy(ips.data() + i * stride, &c, stride);
    }
    req.size = sentSize<cnikit_pod_request>(minor, kPodRequest1_0);
    req.container_id = r.containerId.c_str();
    req.netns = r.netns.c_str();
    req.ifname = r.ifname.c_str();
    req.pod_namespace = r.podNamespace.c_str();
    req.pod_name = r.podName.c_str();
    req.ips = ips.empty() ? nullptr : reinterpret_cast<const cnikit_ip_config*>(ips.data());
    req.n_ips = r.ips.size();
    req.mac = r.mac.c_str();
    req.mtu = r.mtu;
    req.pool = r.pool.c_str();
    if (minor >= 1) {
      req.pod_labels_json = r.podLabelsJson.c_str();
      req.runtime_config_json = r.runtimeConfigJson.c_str();
      req.cni_args_json = r.cniArgsJson.c_str();
    }
  }
};

// The C view of a NodeInfo; pointers into node, valid while both live.
struct CNodeInfo {
  std::vector<const char*> subnets;
  cnikit_node_info info{};

  CNodeInfo(const NodeInfo& node, uint32_t minor) {
    for (const auto& s : node.subnets) subnets.push_back(s.c_str());
    info.size = sentSize<cnikit_node_info>(minor, kNodeInfo1_0);
    info.name = node.name.c_str();
    info.underlay_ipv4 = node.underlayIpv4.c_str();
    info.underlay_ipv6 = node.underlayIpv6.c_str();
    info.subnets = subnets.data();
    info.n_subnets = subnets.size();
    info.backend_data_json = node.backendDataJson.c_str();
    if (minor >= 1) {
      info.labels_json = node.labelsJson.c_str();
      info.underlay_ipv4_prefix_length = node.underlayIpv4PrefixLength;
      info.underlay_ipv6_prefix_length = node.underlayIpv6PrefixLength;
    }
  }
};

// The C view of the pools for create.
struct CPools {
  std::vector<std::vector<const char*>> cidrs;
  std::vector<cnikit_pool_info> infos;
  std::vector<const cnikit_pool_info*> pointers;

  explicit CPools(const std::vector<PoolInfo>& pools) {
    cidrs.reserve(pools.size());
    infos.reserve(pools.size());
    for (const auto& p : pools) {
      auto& list = cidrs.emplace_back();
      for (const auto& c : p.cidrs) list.push_back(c.c_str());
      cnikit_pool_info info{};
      info.size = sizeof(info);
      info.name = p.name.c_str();
      info.cidrs = list.data();
      info.n_cidrs = list.size();
      info.allocator = p.allocator.c_str();
      info.node_prefix_ipv4 = p.nodePrefixIpv4;
      info.node_prefix_ipv6 = p.nodePrefixIpv6;
      info.options_json = p.optionsJson.c_str();
      infos.push_back(info);
    }
    for (const auto& i : infos) pointers.push_back(&i);
  }
};

}  // namespace

BackendInstance::BackendInstance(std::shared_ptr<BackendLibrary> library, const CreateSpec& spec,
                                 std::shared_ptr<HostServices> host)
    : library_(std::move(library)), host_(std::move(host)), instanceName_(spec.instanceName) {
  if (!library_)
    throw BackendError(CNIKIT_ERR_INVALID_ARGUMENT, "backend instance '" + spec.instanceName + "': no library");
  if (!host_) host_ = std::make_shared<HostServices>(spec.instanceName, nullptr, nullptr);
  create(spec);
}

void BackendInstance::recreate(const CreateSpec& spec) {
  std::unique_lock lock(handleMutex_);
  if (handle_) {
    if (const auto* ops = lifecycleOf(library_->api())) (void)ops->shutdown(handle_, CNIKIT_SHUTDOWN_KEEP_DATAPATH);
    library_->api().destroy(handle_);
    handle_ = nullptr;
  }
  started_ = false;
  localNodeUpdates_ = 0;
  create(spec);
}

void BackendInstance::create(const CreateSpec& spec) {
  const uint32_t minor = library_->abiMinor();
  callbacks_ = *host_->callbacks();
  callbacks_.size = sentSize<cnikit_host_callbacks>(minor, kCallbacks1_0);
  CPools pools(spec.pools);
  cnikit_create_args args{};
  args.size = sentSize<cnikit_create_args>(minor, kCreateArgs1_0);
  args.instance_name = spec.instanceName.c_str();
  args.node_name = spec.nodeName.c_str();
  args.options_json = spec.optionsJson.empty() ? "{}" : spec.optionsJson.c_str();
  args.state_dir = spec.stateDir.c_str();
  args.host = &callbacks_;
  args.underlay_interface = spec.underlay.interface.c_str();
  args.underlay_ipv4 = spec.underlay.ipv4.c_str();
  args.underlay_ipv6 = spec.underlay.ipv6.c_str();
  args.underlay_mtu = spec.underlay.mtu;
  if (minor >= 1) {
    args.pools = pools.pointers.data();
    args.n_pools = pools.pointers.size();
    args.node_labels_json = spec.nodeLabelsJson.c_str();
    args.underlay_ipv4_prefix_length = spec.underlay.ipv4PrefixLength;
    args.underlay_ipv6_prefix_length = spec.underlay.ipv6PrefixLength;
  }
  const auto& api = library_->api();
  cnikit_status st = api.create(&args, &handle_);
  if (st != CNIKIT_OK || handle_ == nullptr) {
    // create has no handle: the backend keeps its message for last_error(NULL).
    const char* message = api.last_error(nullptr);
    std::string error = message && *message ? message : "no message from the backend";
    if (st == CNIKIT_OK) {
      st = CNIKIT_ERR_INTERNAL;
      error = "create returned OK without a handle";
    }
    handle_ = nullptr;
    throw BackendError(st, "backend '" + library_->name() + "' (" + library_->path().filename().string() +
                               ") failed to create instance '" + spec.instanceName + "': " + error);
  }
}

BackendInstance::~BackendInstance() {
  std::unique_lock lock(handleMutex_);
  if (handle_) library_->api().destroy(handle_);
}

bool BackendInstance::supportsPods() const { return library_->api().pod != nullptr; }

namespace {

[[noreturn]] void fail(const cnikit_backend_api& api, cnikit_backend* handle, cnikit_status st,
                       const std::string& what) {
  const char* message = api.last_error(handle);
  throw BackendError(st, what + ": " + (message && *message ? message : "no message from the backend"));
}

}  // namespace

PodResult BackendInstance::podAdd(const PodRequest& request) {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request, library_->abiMinor());
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
  if (library_->abiMinor() >= 1) {
    if (out.n_routes > 0 && out.routes == nullptr)
      throw BackendError(CNIKIT_ERR_INTERNAL,
                         "backend instance '" + instanceName_ + "' pod_add: n_routes > 0 but routes is NULL");
    if (out.n_interfaces > 0 && out.interfaces == nullptr)
      throw BackendError(CNIKIT_ERR_INTERNAL,
                         "backend instance '" + instanceName_ + "' pod_add: n_interfaces > 0 but interfaces is NULL");
    for (size_t i = 0; i < out.n_routes; ++i)
      r.routes.push_back({text(out.routes[i].destination), text(out.routes[i].gateway)});
    for (size_t i = 0; i < out.n_interfaces; ++i) {
      const auto& in = out.interfaces[i];
      r.interfaces.push_back({text(in.name), text(in.mac), text(in.sandbox), in.mtu});
    }
  }
  return r;
}

void BackendInstance::podDel(const PodRequest& request) {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request, library_->abiMinor());
  cnikit_status st = api.pod->pod_del(handle_, &c.req);
  if (st != CNIKIT_OK)
    fail(api, handle_, st, "backend instance '" + instanceName_ + "' pod_del of container " + request.containerId);
}

void BackendInstance::podCheck(const PodRequest& request) {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.pod)
    throw BackendError(CNIKIT_ERR_UNSUPPORTED,
                       "backend instance '" + instanceName_ + "' (" + library_->name() + ") has no pod networking");
  CPodRequest c(request, library_->abiMinor());
  cnikit_status st = api.pod->pod_check(handle_, &c.req);
  if (st != CNIKIT_OK)
    fail(api, handle_, st, "backend instance '" + instanceName_ + "' pod_check of container " + request.containerId);
}

std::string BackendInstance::statusJson() {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.status_json) return "{}";
  const char* s = api.status_json(handle_);
  return s && *s ? s : "{}";
}

bool BackendInstance::supportsNodes() const { return library_->api().node != nullptr; }

std::string BackendInstance::localNodeData() {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.node || !api.node->local_node_data) return "{}";
  const char* s = api.node->local_node_data(handle_);
  return s && *s ? s : "{}";
}

void BackendInstance::nodeUpsert(const NodeInfo& node) {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.node) return;
  CNodeInfo c(node, library_->abiMinor());
  cnikit_status st = api.node->node_upsert(handle_, &c.info);
  if (st != CNIKIT_OK) fail(api, handle_, st, "backend instance '" + instanceName_ + "' node_upsert of " + node.name);
}

void BackendInstance::nodeRemove(const std::string& nodeName) {
  std::shared_lock lock(handleMutex_);
  const auto& api = library_->api();
  if (!api.node) return;
  cnikit_status st = api.node->node_remove(handle_, nodeName.c_str());
  if (st != CNIKIT_OK) fail(api, handle_, st, "backend instance '" + instanceName_ + "' node_remove of " + nodeName);
}

void BackendInstance::start() {
  std::shared_lock lock(handleMutex_);
  if (const auto* ops = lifecycleOf(library_->api())) {
    cnikit_status st = ops->start(handle_);
    if (st != CNIKIT_OK) fail(library_->api(), handle_, st, "backend instance '" + instanceName_ + "' start");
  }
  started_ = true;
}

void BackendInstance::shutdown(cnikit_shutdown_mode mode) {
  std::shared_lock lock(handleMutex_);
  started_ = false;
  const auto* ops = lifecycleOf(library_->api());
  if (!ops) return;
  cnikit_status st = ops->shutdown(handle_, mode);
  if (st != CNIKIT_OK)
    fail(library_->api(), handle_, st,
         "backend instance '" + instanceName_ + "' shutdown (" +
             (mode == CNIKIT_SHUTDOWN_TEARDOWN ? "teardown" : "keep datapath") + ")");
}

std::optional<std::string> BackendInstance::notReadyReason() {
  std::shared_lock lock(handleMutex_);
  const auto* ops = lifecycleOf(library_->api());
  if (!ops) return std::nullopt;  // a 1.0 backend is ready once created
  cnikit_status st = ops->ready(handle_);
  if (st == CNIKIT_OK) return std::nullopt;
  const char* message = library_->api().last_error(handle_);
  return std::string(message && *message ? message : "not ready (no reason given)");
}

bool BackendInstance::configUpdate(const std::string& optionsJson) {
  std::shared_lock lock(handleMutex_);
  const auto* ops = lifecycleOf(library_->api());
  if (!ops) return false;
  cnikit_status st = ops->config_update(handle_, optionsJson.c_str());
  if (st == CNIKIT_ERR_UNSUPPORTED) return false;
  if (st != CNIKIT_OK) fail(library_->api(), handle_, st, "backend instance '" + instanceName_ + "' config_update");
  return true;
}

void BackendInstance::podsSync(const std::vector<PodRequest>& pods) {
  std::shared_lock lock(handleMutex_);
  const auto* ops = lifecycleOf(library_->api());
  if (!ops) return;
  std::vector<std::unique_ptr<CPodRequest>> views;
  std::vector<const cnikit_pod_request*> pointers;
  for (const auto& p : pods) {
    views.push_back(std::make_unique<CPodRequest>(p, library_->abiMinor()));
    pointers.push_back(&views.back()->req);
  }
  cnikit_status st = ops->pods_sync(handle_, pointers.data(), pointers.size());
  if (st != CNIKIT_OK)
    fail(library_->api(), handle_, st,
         "backend instance '" + instanceName_ + "' pods_sync of " + std::to_string(pods.size()) + " pod(s)");
}

void BackendInstance::localNodeUpdate(const NodeInfo& self) {
  std::shared_lock lock(handleMutex_);
  if (const auto* ops = lifecycleOf(library_->api())) {
    CNodeInfo c(self, library_->abiMinor());
    cnikit_status st = ops->local_node_update(handle_, &c.info);
    if (st != CNIKIT_OK)
      fail(library_->api(), handle_, st, "backend instance '" + instanceName_ + "' local_node_update of " + self.name);
  }
  ++localNodeUpdates_;
}

LifecycleState BackendInstance::lifecycleState() const { return {started_.load(), localNodeUpdates_.load()}; }

}  // namespace cnikit::plugin
