#pragma once
// Private: the words of address parse errors, shared by IpAddress and IpPrefix.
#include <string>
#include <string_view>

namespace cnikit::toolkit::detail {

// The text in quotes, cut after 100 characters.
std::string quoted(std::string_view text);
// "'<text>' is not an IPv4 or IPv6 address", with the reason when it is a known trap.
std::string whyNotAnAddress(std::string_view text);

}  // namespace cnikit::toolkit::detail
