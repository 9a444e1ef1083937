#pragma once
// The upstream netpol e2e suite's Reachability (test/e2e/network/netpol/reachability.go): a
// truth table of which pod connects to which, written the way the suite writes its
// expectations, and printed the way it prints them. Used by the engine's unit tests and the
// lab e2e suite alike.
#include <map>
#include <string>
#include <vector>

namespace cnikit::policy::test {

// The upstream e2e suite's Reachability: a truth table filled with a default, then
// adjusted by Expect* calls exactly as the upstream test cases write them.
class Reachability {
 public:
  struct Peer {
    std::string ns;   // "" = any
    std::string pod;  // "" = any
  };

  Reachability(std::vector<std::string> pods, bool connected) : pods_(std::move(pods)) {
    for (const auto& f : pods_)
      for (const auto& t : pods_) values_[f][t] = connected;
  }
  void expect(const std::string& from, const std::string& to, bool connected) { values_.at(from).at(to) = connected; }
  void expectAllIngress(const std::string& to, bool connected) {
    for (const auto& f : pods_) values_[f].at(to) = connected;
  }
  void expectAllEgress(const std::string& from, bool connected) {
    for (const auto& t : pods_) values_.at(from)[t] = connected;
  }
  void expectPeer(const Peer& from, const Peer& to, bool connected) {
    for (const auto& f : pods_)
      if (matches(from, f))
        for (const auto& t : pods_)
          if (matches(to, t)) values_[f][t] = connected;
  }
  // Upstream ignores loopback (its behaviour varies between plugins); cnikit defines it:
  // a pod always reaches itself.
  void allowLoopback() {
    for (const auto& p : pods_) values_[p][p] = true;
  }
  const std::map<std::string, std::map<std::string, bool>>& values() const { return values_; }

 private:
  static bool matches(const Peer& peer, const std::string& pod) {
    auto slash = pod.find('/');
    return (peer.ns.empty() || peer.ns == pod.substr(0, slash)) &&
           (peer.pod.empty() || peer.pod == pod.substr(slash + 1));
  }
  std::vector<std::string> pods_;
  std::map<std::string, std::map<std::string, bool>> values_;
};

inline std::string truthTable(const std::vector<std::string>& pods,
                              const std::map<std::string, std::map<std::string, bool>>& values) {
  std::string out = "-";
  for (const auto& t : pods) out += "\t" + t;
  out += "\n";
  for (const auto& f : pods) {
    out += f;
    for (const auto& t : pods) out += values.at(f).at(t) ? "\t." : "\tX";
    out += "\n";
  }
  return out;
}

}  // namespace cnikit::policy::test
