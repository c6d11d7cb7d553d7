#include "abx/json_limits.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace abx {

std::string json_path(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
}

std::string json_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

std::optional<std::string> find_unrepresentable_number(const nlohmann::json& value,
                                                       const std::string& root) {
    // Iterative, so that a deeply nested document cannot exhaust the stack.
    struct Item {
        const nlohmann::json* value;
        std::string path;
    };
    std::vector<Item> stack{{&value, root}};
    InterruptPoll poll;
    while (!stack.empty()) {
        poll.tick();
        Item item = std::move(stack.back());
        stack.pop_back();
        const nlohmann::json& v = *item.value;
        if (v.is_number_float() && std::isnan(v.get<double>())) return item.path;
        if (v.is_object()) {
            // Reverse order on the stack gives document order when popped.
            std::vector<Item> children;
            for (auto it = v.begin(); it != v.end(); ++it)
                children.push_back({&it.value(), json_path(item.path, it.key())});
            stack.insert(stack.end(), std::make_move_iterator(children.rbegin()),
                         std::make_move_iterator(children.rend()));
        } else if (v.is_array()) {
            for (std::size_t i = v.size(); i-- > 0;)
                stack.push_back({&v[i], json_path(item.path, i)});
        }
    }
    return std::nullopt;
}

double json_double(const nlohmann::json& value, const std::string& path) {
    const std::string field = path.empty() ? "value" : path;
    if (!value.is_number()) wrong_type(field, "must be a number");
    const double d = value.get<double>();
    if (!std::isfinite(d)) out_of_range(field, "number is out of range for double precision");
    return d;
}

const nlohmann::json& required_field(const nlohmann::json& object, const std::string& key,
                                     const std::string& path) {
    auto it = object.find(key);
    if (it == object.end()) invalid_field(path, "is required");
    if (it->is_null()) null_field(path);
    return *it;
}

void require_representable_numbers(const nlohmann::json& value, const std::string& root) {
    if (std::optional<std::string> path = find_unrepresentable_number(value, root))
        out_of_range(path->empty() ? "value" : *path,
                     "number is out of range for double precision");
}

std::size_t json_depth(const nlohmann::json& value) {
    struct Item {
        const nlohmann::json* value;
        std::size_t depth;
    };
    std::size_t deepest = 0;
    std::vector<Item> stack{{&value, 0}};
    InterruptPoll poll;
    while (!stack.empty()) {
        poll.tick();
        Item item = stack.back();
        stack.pop_back();
        const nlohmann::json& v = *item.value;
        if (!v.is_structured()) continue;
        deepest = std::max(deepest, item.depth + 1);
        for (const auto& child : v) stack.push_back({&child, item.depth + 1});
    }
    return deepest;
}

namespace {

std::string scalar_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Length of the JSON text of a string: a string's text is never shorter than its bytes plus the
// two quotes, so an over-long string is refused without escaping it.
std::size_t string_text_size(const std::string& s, std::size_t room) {
    if (s.size() + 2 > room) return room + 1;
    return scalar_text(nlohmann::json(s)).size();
}

}  // namespace

std::size_t json_text_size(const nlohmann::json& value, std::size_t limit) {
    std::size_t total = 0;
    auto add = [&](std::size_t n) {
        total = n > limit - total ? limit + 1 : total + n;
        return total <= limit;
    };
    std::vector<const nlohmann::json*> stack{&value};
    InterruptPoll poll;
    while (!stack.empty()) {
        poll.tick();
        const nlohmann::json& v = *stack.back();
        stack.pop_back();
        bool fits = true;
        if (v.is_object()) {
            // {} plus a comma between members and a colon in each.
            fits = add(2 + (v.empty() ? 0 : 2 * v.size() - 1));
            for (auto it = v.begin(); fits && it != v.end(); ++it) {
                fits = add(string_text_size(it.key(), limit - total));
                stack.push_back(&it.value());
            }
        } else if (v.is_array()) {
            fits = add(2 + (v.empty() ? 0 : v.size() - 1));
            for (const auto& child : v) stack.push_back(&child);
        } else if (v.is_string()) {
            fits = add(string_text_size(v.get_ref<const std::string&>(), limit - total));
        } else {
            fits = add(scalar_text(v).size());
        }
        if (!fits) return total;
    }
    return total;
}

void require_document_limits(const nlohmann::json& value, const std::string& path) {
    // Depth first: it is cheap, and it bounds the recursion of anything that later prints `value`.
    if (json_depth(value) > kMaxDocumentDepth)
        invalid_field(path, "must not be nested more than " + std::to_string(kMaxDocumentDepth) +
                                " levels deep");
    if (json_text_size(value, kMaxDocumentBytes) > kMaxDocumentBytes)
        invalid_field(
            path, "must be at most " + std::to_string(kMaxDocumentBytes) + " bytes as JSON text");
}

}  // namespace abx
