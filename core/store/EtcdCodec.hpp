#pragma once
// How the etcd v3 JSON gateway spells things: bytes as base64, int64 as decimal strings,
// fields at their default value left out, and a key range as [key, range_end).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/store/Store.hpp"

namespace cnikit::store::etcd {

std::string base64Encode(std::string_view bytes);
// Throws std::runtime_error on characters outside the standard alphabet.
std::string base64Decode(std::string_view text);

// The range_end that makes [prefix, range_end) cover every key starting with prefix: prefix
// with its last byte below 0xff incremented and what follows dropped. "\0" (every key >=
// prefix) when there is no such byte (empty prefix, or all 0xff).
std::string prefixRangeEnd(std::string_view prefix);

// An int64 field: absent -> 0; accepts a decimal string (what the gateway sends) or a
// number.
int64_t int64Field(const nlohmann::json& object, const char* name);
// A bytes field, decoded: absent -> "".
std::string bytesField(const nlohmann::json& object, const char* name);

// An mvccpb.KeyValue object.
KeyValue keyValueFromJson(const nlohmann::json& kv);

}  // namespace cnikit::store::etcd
