#pragma once
// The binary ipt_entry / ip6t_entry of an IptablesRule (matches + target), as libiptc takes it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cnikit/toolkit/IptablesRule.hpp>
#include <cnikit/toolkit/Result.hpp>

namespace cnikit::toolkit {

// Resolves an ipset name to its kernel index (the set match stores the index), e.g. ipsetIndex.
using SetIndexFn = std::function<Result<uint16_t>(const std::string& name)>;

// EINVAL naming the rule for what cannot be encoded (a bad address, a port without tcp/udp/sctp,
// a set match without setIndex); setIndex's own error when it fails.
Result<std::vector<unsigned char>> encodeEntry(const IptablesRule& rule, IpFamily family,
                                               const SetIndexFn& setIndex = {});

}  // namespace cnikit::toolkit
