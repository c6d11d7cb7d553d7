// Validation of experiment specifications and of partial updates to them.
//
// Decisions not spelled out in the header:
// - A JSON null for an optional field means "not given" (the default applies). In a patch this
//   resets the field to its default, e.g. {"description": null} clears the description.
// - name (experiment and variant), when given, must be a non-empty string; description any string.
// - A patch's "variants" is a list of variant objects matched by key. A patch item may carry
//   "remove": true (only in patches): in draft the variant is left out, in running/paused it is
//   refused with 55000 (set its weight to 0 instead). In draft the listed variants replace the
//   current ones; in running/paused listed existing variants are updated field by field, new keys
//   are appended, unlisted variants stay.
// - In running/paused, metrics and winner_policy may change too (they do not affect assignments);
//   code, kind, salt and the control may not. Giving them unchanged is not a change.
// - completed/archived refuse every update, even an empty patch.
// - Every number of the document is checked up front for the glue's "did not fit a double" marker
//   (json_limits.hpp), so even a free-form variant config cannot store one.
// - The floor analysis.bandit.min_share must be at most 1 / number of variants: 22003, as any
//   number outside its accepted range.
#include "abx/experiment_spec.hpp"

#include "abx/analysis.hpp"

#include "abx/error.hpp"
#include "abx/json_limits.hpp"
#include "abx/targeting.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace abx {

namespace {

using nlohmann::json;

constexpr std::size_t kMinVariants = 2;
constexpr std::size_t kMaxVariants = 100;

const std::initializer_list<std::string_view> kSpecKeys = {
    "code", "name",     "description", "kind",          "targeting", "coverage",
    "salt", "variants", "metrics",     "winner_policy", "analysis"};
const std::initializer_list<std::string_view> kVariantKeys = {"key", "name", "weight", "config",
                                                              "is_control"};
const std::initializer_list<std::string_view> kPatchVariantKeys = {
    "key", "name", "weight", "config", "is_control", "remove"};

std::string join(const std::initializer_list<std::string_view>& keys) {
    std::string out;
    for (auto k : keys) {
        if (!out.empty()) out += ", ";
        out += k;
    }
    return out;
}

void reject_unknown_keys(const json& obj, const std::initializer_list<std::string_view>& allowed,
                         const std::string& prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
            invalid_field(prefix + it.key(), "unknown field (allowed: " + join(allowed) + ")");
    }
}

// The value of an optional field, or nullptr when absent or null.
const json* get(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

bool is_key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool is_identifier(const std::string& s, std::size_t max) {
    return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), is_key_char);
}

const std::string& as_string(const json& v, const std::string& path) {
    if (!v.is_string()) wrong_type(path, "must be a string");
    return v.get_ref<const std::string&>();
}

void require_object(const json& v, const std::string& path) {
    if (!v.is_object()) wrong_type(path, "must be a JSON object");
}

void require_boolean(const json& v, const std::string& path) {
    if (!v.is_boolean()) wrong_type(path, "must be true or false");
}

std::string identifier(const json& v, const std::string& path, std::size_t max) {
    const std::string& s = as_string(v, path);
    if (!is_identifier(s, max))
        invalid_field(path, "must match [A-Za-z0-9_.-]{1," + std::to_string(max) + "}");
    return s;
}

std::string non_empty_string(const json& v, const std::string& path) {
    const std::string& s = as_string(v, path);
    if (s.empty()) invalid_field(path, "must not be empty");
    return s;
}

double weight_value(const json& v, const std::string& path) {
    const double w = json_double(v, path);
    if (!(w >= 0 && w <= kMaxVariantWeight)) out_of_range(path, "must be between 0 and 1000000");
    return w;
}

// Checks the fields a variant object carries; shared by creation and patch items.
VariantSpec parse_variant(const json& v, const std::string& path, bool patch_item) {
    require_object(v, path);
    reject_unknown_keys(v, patch_item ? kPatchVariantKeys : kVariantKeys, path + ".");
    VariantSpec out;
    out.key = identifier(required_field(v, "key", path + ".key"), path + ".key", 64);
    out.name = out.key;
    if (const json* name = get(v, "name")) out.name = non_empty_string(*name, path + ".name");
    if (const json* weight = get(v, "weight")) out.weight = weight_value(*weight, path + ".weight");
    if (const json* config = get(v, "config")) {
        require_object(*config, path + ".config");
        out.config = *config;
    }
    if (const json* ctl = get(v, "is_control")) {
        require_boolean(*ctl, path + ".is_control");
        out.is_control = ctl->get<bool>();
    }
    if (const json* remove = get(v, "remove")) require_boolean(*remove, path + ".remove");
    return out;
}

std::string default_variant_path(std::size_t i) {
    return "variants[" + std::to_string(i) + "]";
}

// variant_paths, when given, names each element of spec.variants in error messages (a patch
// reports the path of its own item rather than the merged position).
ExperimentSpec parse_impl(const json& spec, const std::vector<std::string>* variant_paths) {
    require_object(spec, "experiment");
    require_representable_numbers(spec, "");
    reject_unknown_keys(spec, kSpecKeys, "");
    ExperimentSpec out;

    out.code = identifier(required_field(spec, "code", "code"), "code", 128);
    out.name = out.code;
    if (const json* name = get(spec, "name")) out.name = non_empty_string(*name, "name");
    if (const json* desc = get(spec, "description"))
        out.description = as_string(*desc, "description");

    if (const json* kind = get(spec, "kind")) {
        const std::string& k = as_string(*kind, "kind");
        if (k == "ab")
            out.kind = ExperimentKind::AB;
        else if (k == "bandit")
            out.kind = ExperimentKind::Bandit;
        else
            invalid_field("kind", "must be \"ab\" or \"bandit\"");
    }

    if (const json* targeting = get(spec, "targeting")) {
        Targeting::compile(*targeting);  // throws naming targeting.<path>
        out.targeting = *targeting;
    }

    if (const json* coverage = get(spec, "coverage")) {
        const double c = json_double(*coverage, "coverage");
        if (!(c > 0 && c <= 1)) out_of_range("coverage", "must be a number in (0, 1]");
        out.coverage = c;
    }

    if (const json* salt = get(spec, "salt")) {
        const std::string& s = as_string(*salt, "salt");
        bool printable =
            std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
        if (s.empty() || s.size() > 64 || !printable)
            invalid_field("salt", "must be 1 to 64 printable ASCII characters");
        out.salt = s;
    }

    for (auto [key, field] :
         {std::pair{"metrics", &out.metrics}, std::pair{"winner_policy", &out.winner_policy},
          std::pair{"analysis", &out.analysis}}) {
        if (const json* v = get(spec, key)) {
            require_object(*v, key);
            *field = *v;
        }
    }
    // The analysis documents are validated where they are defined (analysis.hpp).
    const std::vector<analysis::MetricSpec> metrics = analysis::parse_metrics(out.metrics);
    analysis::validate_winner_policy(analysis::parse_winner_policy(out.winner_policy), metrics);
    const analysis::AnalysisSettings settings = analysis::parse_settings(out.analysis);
    if (out.kind == ExperimentKind::Bandit) {
        // Thompson sampling adapts the shares to the primary metric's conversion rate.
        const auto primary = std::find_if(metrics.begin(), metrics.end(), [](const auto& m) {
            return m.role == analysis::MetricRole::Primary;
        });
        if (primary == metrics.end() || primary->kind != analysis::MetricKind::Rate)
            invalid_field("metrics.primary",
                          "a bandit experiment needs a primary metric of kind rate");
    }

    const json& variants = required_field(spec, "variants", "variants");
    if (!variants.is_array()) wrong_type("variants", "must be an array of variant objects");
    if (variants.size() < kMinVariants || variants.size() > kMaxVariants)
        invalid_field("variants", "must be an array of " + std::to_string(kMinVariants) + " to " +
                                      std::to_string(kMaxVariants) + " variants");
    std::map<std::string, std::string> seen;  // key -> path
    std::optional<std::size_t> control;
    double total = 0;
    for (std::size_t i = 0; i < variants.size(); ++i) {
        std::string path = variant_paths && i < variant_paths->size() ? (*variant_paths)[i]
                                                                      : default_variant_path(i);
        VariantSpec v = parse_variant(variants[i], path, false);
        auto [it, inserted] = seen.emplace(v.key, path);
        if (!inserted)
            invalid_field(path + ".key",
                          "duplicate variant key \"" + v.key + "\" (also " + it->second + ")");
        if (v.is_control) {
            if (control)
                invalid_field(path + ".is_control", "only one variant may be the control (\"" +
                                                        out.variants[*control].key +
                                                        "\" already is)");
            control = i;
        }
        total += v.weight;
        out.variants.push_back(std::move(v));
    }
    if (!(total > 0)) invalid_field("variants", "the total weight must be > 0");
    if (!control) out.variants.front().is_control = true;
    // The allocation floor must leave room for every arm (thompson_shares requires it).
    if (settings.bandit.min_share * (double)out.variants.size() > 1.0)
        out_of_range("analysis.bandit.min_share", "must be at most 1 / the number of variants (" +
                                                      std::to_string(out.variants.size()) + ")");
    return out;
}

[[noreturn]] void refuse(Status status, const std::string& what,
                         std::string hint = "only a draft experiment may change this") {
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                "cannot " + what + " while the experiment is " + std::string(to_string(status)), {},
                std::move(hint));
}

}  // namespace

std::string_view to_string(ExperimentKind kind) {
    return kind == ExperimentKind::Bandit ? "bandit" : "ab";
}

std::size_t ExperimentSpec::control_index() const {
    if (variants.empty())
        throw Error(sqlstate::kInternalError, "experiment \"" + code + "\" has no variants");
    for (std::size_t i = 0; i < variants.size(); ++i)
        if (variants[i].is_control) return i;
    return 0;
}

ExperimentSpec parse_experiment_spec(const nlohmann::json& spec) {
    return parse_impl(spec, nullptr);
}

nlohmann::json to_json(const ExperimentSpec& spec) {
    json variants = json::array();
    for (const auto& v : spec.variants) {
        variants.push_back({{"key", v.key},
                            {"name", v.name},
                            {"weight", v.weight},
                            {"config", v.config},
                            {"is_control", v.is_control}});
    }
    json out = {{"code", spec.code},
                {"name", spec.name},
                {"description", spec.description},
                {"kind", std::string(to_string(spec.kind))},
                {"targeting", spec.targeting},
                {"coverage", spec.coverage},
                {"variants", std::move(variants)},
                {"metrics", spec.metrics},
                {"winner_policy", spec.winner_policy},
                {"analysis", spec.analysis}};
    if (!spec.salt.empty()) out["salt"] = spec.salt;
    return out;
}

ExperimentSpec apply_update(const ExperimentSpec& current, Status status,
                            const nlohmann::json& patch) {
    if (status == Status::Completed || status == Status::Archived)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "cannot update experiment \"" + current.code + "\": it is " +
                        std::string(to_string(status)) + " and can no longer change");
    const bool live = status == Status::Running || status == Status::Paused;
    require_object(patch, "patch");
    require_representable_numbers(patch, "");
    reject_unknown_keys(patch, kSpecKeys, "");

    json merged = to_json(current);
    for (auto it = patch.begin(); it != patch.end(); ++it)
        if (it.key() != "variants") merged[it.key()] = it.value();

    std::vector<std::string> paths;
    for (std::size_t i = 0; i < current.variants.size(); ++i)
        paths.push_back("variants[\"" + current.variants[i].key + "\"]");

    if (const json* items = get(patch, "variants")) {
        if (!items->is_array()) wrong_type("variants", "must be an array of variant objects");
        std::map<std::string, std::size_t> index;  // key -> position in current.variants
        for (std::size_t i = 0; i < current.variants.size(); ++i)
            index.emplace(current.variants[i].key, i);

        json list = live ? merged["variants"] : json::array();
        if (!live) paths.clear();
        std::set<std::string> listed;
        for (std::size_t j = 0; j < items->size(); ++j) {
            const json& item = (*items)[j];
            const std::string path = default_variant_path(j);
            VariantSpec v = parse_variant(item, path, true);
            if (!listed.insert(v.key).second)
                invalid_field(path + ".key", "variant \"" + v.key + "\" is listed twice");
            const json* remove = get(item, "remove");
            const bool removing = remove && remove->get<bool>();
            auto existing = index.find(v.key);
            json fields = item;
            fields.erase("remove");

            if (!live) {
                if (!removing) {
                    list.push_back(std::move(fields));
                    paths.push_back(path);
                }
                continue;
            }
            if (removing) {
                if (existing == index.end())
                    invalid_field(path + ".key", "no variant \"" + v.key + "\" to remove");
                refuse(status, "remove variant \"" + v.key + "\"",
                       "set its weight to 0 to stop assigning it");
            }
            const json* ctl = get(item, "is_control");
            if (existing == index.end()) {
                if (ctl && ctl->get<bool>())
                    refuse(status, "make new variant \"" + v.key + "\" the control");
                list.push_back(std::move(fields));
                paths.push_back(path);
            } else {
                const VariantSpec& old = current.variants[existing->second];
                if (ctl && ctl->get<bool>() != (existing->second == current.control_index()))
                    refuse(status, "change the control variant (\"" + old.key + "\")");
                json& target = list[existing->second];
                for (auto f = fields.begin(); f != fields.end(); ++f) target[f.key()] = f.value();
                paths[existing->second] = path;
            }
        }
        merged["variants"] = std::move(list);
    }

    ExperimentSpec result = parse_impl(merged, &paths);

    if (live) {
        if (result.code != current.code) refuse(status, "change the code");
        if (result.kind != current.kind) refuse(status, "change the kind");
        if (result.salt != current.salt) refuse(status, "change the salt");
        if (result.variants[result.control_index()].key !=
            current.variants[current.control_index()].key)
            refuse(status, "change the control variant");
    }
    return result;
}

}  // namespace abx
