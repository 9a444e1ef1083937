#include "core/plugin/OptionsSchema.hpp"

#include <stdexcept>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace cnikit::plugin {

namespace {

// valijson's context is ["<root>", "[mode]", "[0]"...]: "options.mode[0]".
std::string fieldPath(const std::vector<std::string>& context) {
  std::string path = "options";
  for (size_t i = 1; i < context.size(); ++i) {
    const std::string& part = context[i];
    bool index = part.size() > 2 && part.front() == '[' && part.find_first_not_of("0123456789", 1) == part.size() - 1;
    path += index ? part : "." + part.substr(1, part.size() - 2);
  }
  return path;
}

}  // namespace

void validateOptions(const std::string& schemaJson, const nlohmann::json& options, const std::string& instanceName) {
  const std::string who = "backend instance '" + instanceName + "'";
  if (!options.is_object()) throw std::invalid_argument(who + ": options must be an object");
  if (schemaJson.empty()) return;
  auto schemaDoc = nlohmann::json::parse(schemaJson, nullptr, false);
  if (schemaDoc.is_discarded()) throw std::invalid_argument(who + ": the backend's options schema is not valid JSON");
  valijson::Schema schema;
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter schemaAdapter(schemaDoc);
    parser.populateSchema(schemaAdapter, schema);
  } catch (const std::exception& e) {
    throw std::invalid_argument(who + ": the backend's options schema is unusable: " + e.what());
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter document(options);
  if (validator.validate(schema, document, &results)) return;
  // Keep the leaf errors (those naming a field); the "<root>: failed to validate property
  // 'x'" summaries repeat them, except for an unknown property, which only the root names.
  std::string message;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    bool summary =
        error.context.size() <= 1 && error.description.find("associated with property name") != std::string::npos;
    if (summary) continue;
    message += (message.empty() ? "" : "; ") + fieldPath(error.context) + ": " + error.description;
  }
  throw std::invalid_argument(who + ": " + message);
}

}  // namespace cnikit::plugin
