#pragma once
// Where a lab lives: its state directory /run/cnikit-lab/<lab>/ and its network namespaces
// cnikit-lab-<lab>-<part> (fabric, external, one per node, one per pod). Lab names hold no '-', so the
// namespaces of lab "a" can never be mistaken for those of a lab "a-b" when a crashed lab is
// swept by prefix.
#include <filesystem>
#include <string>

namespace cnikit::lab {

inline constexpr const char* kLabRoot = "/run/cnikit-lab";
inline constexpr const char* kNetnsDir = "/run/netns";
inline constexpr const char* kNetnsPrefix = "cnikit-lab-";

// Throws std::invalid_argument unless name is 1-24 of [a-z0-9_], starting with a letter or digit.
void validateLabName(const std::string& name);
// Throws std::invalid_argument unless name is a DNS label of at most 40 characters that is
// not "fabric" or "external" and does not start with "pod-" (those name other parts of the lab).
void validateNodeName(const std::string& name);

std::filesystem::path labRoot();  // kLabRoot, or $CNIKIT_LAB_ROOT when set
std::filesystem::path labDir(const std::string& lab);
std::filesystem::path stateFile(const std::string& lab);  // <labDir>/state.json

// "cnikit-lab-<lab>-" : every namespace of the lab starts with it.
std::string netnsPrefix(const std::string& lab);
std::string netnsName(const std::string& lab, const std::string& part);
std::string netnsPath(const std::string& netnsName);  // /run/netns/<name>
// The part for a pod: "pod-<ns>-<name>", shortened with a hash when it would be too long for
// a file name.
std::string podNetnsPart(const std::string& ns, const std::string& name);

}  // namespace cnikit::lab
