// A backend's options checked against the JSON Schema it declares, naming each bad field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/plugin/OptionsSchema.hpp"

using cnikit::plugin::validateOptions;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const char* kSchema = R"({
  "type": "object", "additionalProperties": false,
  "properties": {
    "mode": {"enum": ["vxlan", "host-gw"]},
    "vni": {"type": "integer", "minimum": 1},
    "peers": {"type": "array", "items": {"type": "string"}}
  }
})";

std::string refusal(const std::string& schema, const json& options) {
  try {
    validateOptions(schema, options, "pods");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(OptionsSchema, GoodOptionsPass) {
  EXPECT_NO_THROW(validateOptions(kSchema, json::parse(R"({"mode":"vxlan","vni":4,"peers":["a"]})"), "pods"));
  EXPECT_NO_THROW(validateOptions(kSchema, json::object(), "pods"));
}

TEST(OptionsSchema, EveryBadFieldIsNamed) {
  std::string message = refusal(kSchema, json::parse(R"({"mode":"vxlam","vni":0,"peers":["a",3],"x":1})"));
  EXPECT_THAT(message, HasSubstr("backend instance 'pods': "));
  EXPECT_THAT(message, HasSubstr("options.mode: "));
  EXPECT_THAT(message, HasSubstr("options.vni: "));
  EXPECT_THAT(message, HasSubstr("options.peers[1]: "));
  EXPECT_THAT(message, HasSubstr("'x'"));
  // The root summaries that only repeat a field's failure are left out.
  EXPECT_THAT(message, Not(HasSubstr("associated with property name 'mode'")));
}

TEST(OptionsSchema, NoSchemaAcceptsAnyObjectButNotOtherJson) {
  EXPECT_NO_THROW(validateOptions("", json::parse(R"({"anything":[1,2]})"), "pods"));
  EXPECT_THAT(refusal("", json::array()), HasSubstr("options must be an object"));
}

TEST(OptionsSchema, ABrokenSchemaIsTheBackendsFault) {
  EXPECT_THAT(refusal("{not json", json::object()), HasSubstr("the backend's options schema is not valid JSON"));
}
