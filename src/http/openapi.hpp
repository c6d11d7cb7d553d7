// The OpenAPI 3.1 document of abx-http, generated from the route table (so the two cannot drift;
// docs/openapi.json is this document, checked by a unit test).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace abx::http {

nlohmann::json openapi_document(const std::string& version);

}  // namespace abx::http
