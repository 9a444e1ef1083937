#pragma once
// flannel-like backend, local part: each pod gets a veth pair whose host end sits on a
// Linux bridge in the host network namespace (the namespace of the calling thread) that
// holds the subnet gateways; the pod end is created directly in the pod's namespace.
#include <mutex>
#include <string>

#include <cnikit/backend.hpp>

#include "Masquerade.hpp"
#include "Options.hpp"

namespace cnikit::flannel {

class FlannelBackend {
 public:
  explicit FlannelBackend(const sdk::CreateArgs& args);

  sdk::PodResult podAdd(const sdk::PodRequest& request);
  void podDel(const sdk::PodRequest& request);
  void podCheck(const sdk::PodRequest& request);
  std::string statusJson();

 private:
  uint32_t effectiveMtu(const sdk::PodRequest& request) const;

  Options options_;
  sdk::Host host_;
  std::string instance_;
  std::mutex bridgeMutex_;  // one creator of the bridge and its gateway addresses at a time
  Masquerade masquerade_;
};

}  // namespace cnikit::flannel
