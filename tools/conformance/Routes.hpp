#pragma once
// Routes of a namespace (every table, both families) that lead into some prefixes: how the
// kit sees whether a node still routes to a node that left, or to a pod that is gone.
#include <string>
#include <vector>

namespace cnikit::conformance {

// "10.244.2.0/24 via 10.244.2.0 dev flannel.1 table main" for each route whose destination
// lies inside one of `prefixes` ("10.244.2.0/24", "10.244.1.7/32", "fd00::/64").
std::vector<std::string> routesInto(const std::string& netnsPath, const std::vector<std::string>& prefixes);

}  // namespace cnikit::conformance
