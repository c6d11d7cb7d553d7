#include "openapi.hpp"

#include "routes.hpp"

namespace abx::http {

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

nlohmann::json error_response(const std::string& what) {
    return {{"description", what},
            {"content",
             {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}
}  // namespace

nlohmann::json openapi_document(const std::string& version) {
    nlohmann::json paths = nlohmann::json::object();
    for (const Route& r : route_table()) {
        // ":name" segments become "{name}" path parameters.
        std::string path;
        nlohmann::json parameters = nlohmann::json::array();
        std::string_view p = r.pattern;
        std::size_t i = 0;
        while (i < p.size()) {
            std::size_t j = p.find('/', i + 1);
            if (j == std::string_view::npos) j = p.size();
            std::string_view seg = p.substr(i + 1, j - i - 1);
            if (!seg.empty() && seg[0] == ':') {
                std::string name(seg.substr(1));
                path += "/{" + name + "}";
                parameters.push_back({{"name", name},
                                      {"in", "path"},
                                      {"required", true},
                                      {"schema", {{"type", "string"}}}});
            } else {
                path += "/" + std::string(seg);
            }
            i = j;
        }
        nlohmann::json op = {{"summary", std::string(r.summary)},
                             {"operationId", lower(method_name(r.method)) + path}};
        if (!parameters.empty()) op["parameters"] = parameters;
        if (!r.function.empty()) op["x-abx-function"] = std::string(r.function);
        if (!r.right.empty()) op["x-abx-right"] = std::string(r.right);
        op["x-abx-read-only"] = r.read_only;
        op["x-abx-rate-limit-group"] = std::string(r.group);
        switch (r.auth) {
            case Auth::None:
                op["security"] = nlohmann::json::array();
                break;
            case Auth::Jwt:
                op["security"] = {{{"bearerJwt", nlohmann::json::array()}}};
                break;
            case Auth::JwtOrBasic:
                op["security"] = {{{"bearerJwt", nlohmann::json::array()}},
                                  {{"superadminBasic", nlohmann::json::array()}}};
                break;
            case Auth::InternalToken:
                op["security"] = {{{"internalToken", nlohmann::json::array()}}};
                break;
        }
        if (r.method == Method::POST || r.method == Method::PATCH || r.method == Method::PUT ||
            r.method == Method::DELETE)
            op["requestBody"] = {
                {"required", false},
                {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
        std::string content_type =
            r.builtin == Builtin::Metrics ? "text/plain" : "application/json";
        op["responses"] = {
            {std::to_string(r.status),
             {{"description", "success"}, {"content", {{content_type, nlohmann::json::object()}}}}},
            {"400", error_response("bad input (SQLSTATE class 22)")},
            {"401", error_response("no or invalid credentials")},
            {"403", error_response("the role lacks the right or the organization")},
            {"404", error_response("no such experiment or route")},
            {"409", error_response("conflict with the current state")},
            {"429", error_response("rate limit exceeded (Retry-After)")},
            {"503", error_response("database unavailable (Retry-After)")},
        };
        paths[path][lower(method_name(r.method))] = op;
    }
    return {
        {"openapi", "3.1.0"},
        {"info",
         {{"title", "abx-http"},
          {"version", version},
          {"description",
           "The HTTP API of abx: every route calls one SQL function of the "
           "abx extension in one transaction (docs/http-api.md)."}}},
        {"paths", paths},
        {"components",
         {{"securitySchemes",
           {{"bearerJwt", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
            {"superadminBasic", {{"type", "http"}, {"scheme", "basic"}}},
            {"internalToken",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"description", "experiments.internalCronToken"}}}}},
          {"schemas",
           {{"Error",
             {{"type", "object"},
              {"required", {"code", "message"}},
              {"properties",
               {{"code", {{"type", "string"}, {"description", "SQLSTATE or ABX<status>"}}},
                {"message", {{"type", "string"}}},
                {"details", {{"type", {"string", "null"}}}},
                {"hint", {{"type", {"string", "null"}}}}}}}}}}}},
    };
}

}  // namespace abx::http
