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

}  // namespace abx
