// Targeting rules: compiled once into a small tree, evaluated on every new assignment.
//
// Decisions not spelled out in the header:
// - A JSON null in the context counts as a missing attribute.
// - When the rule value is a number, a context string that is entirely a decimal number ("5",
//   "-2.5", "1e3") is compared numerically; this applies to eq/ne/in/not_in as well as to the
//   ordering operators. A string rule value is compared with context strings only, exactly.
// - Rule values must be strings, numbers or booleans (null is refused); ordering operators take
//   a number; "in"/"not_in" take a non-empty array of such scalars; "exists" takes a boolean.
// - "any" and "all" take a non-empty array of rule objects, "not" takes one rule object.
// - A context that is not a JSON object (other than null, read as {}) is refused with 22P02.
// - Errors follow error.hpp's rule: a rule value of the wrong JSON type is 22P02 ({"gte": "5"}),
//   a null rule value 22004, a number that did not fit a double 22003, everything else 22023
//   (unknown operator, empty list, depth and size limits).
// - Reasons echo at most kMaxEchoedChars characters of a context value and kMaxRuleTextChars of a
//   rule, cut at a UTF-8 character boundary and marked with "...": a reason is returned on every
//   refused assignment and must stay small whatever the caller sends.
#include "abx/targeting.hpp"

#include "abx/error.hpp"
#include "abx/interrupt.hpp"
#include "abx/json_limits.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace abx {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = kMaxRuleDepth;
constexpr std::size_t kMaxEchoedChars = 64;
constexpr std::size_t kMaxRuleTextChars = 256;

// A number as found in JSON, without losing 64-bit integer precision.
struct Number {
    enum class Kind { Signed, Unsigned, Float } kind = Kind::Signed;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;

    long double as_long_double() const {
        switch (kind) {
            case Kind::Signed:
                return static_cast<long double>(i);
            case Kind::Unsigned:
                return static_cast<long double>(u);
            case Kind::Float:
                break;
        }
        return static_cast<long double>(d);
    }
};

// -1, 0 or 1.
int compare(const Number& a, const Number& b) {
    using K = Number::Kind;
    if (a.kind != K::Float && b.kind != K::Float) {
        auto ia = a.kind == K::Signed;
        auto ib = b.kind == K::Signed;
        if (ia && ib) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
        if (!ia && !ib) return a.u < b.u ? -1 : (a.u > b.u ? 1 : 0);
        if (ia) return std::cmp_less(a.i, b.u) ? -1 : (std::cmp_equal(a.i, b.u) ? 0 : 1);
        return std::cmp_less(a.u, b.i) ? -1 : (std::cmp_equal(a.u, b.i) ? 0 : 1);
    }
    long double x = a.as_long_double();
    long double y = b.as_long_double();
    return x < y ? -1 : (x > y ? 1 : 0);
}

std::optional<Number> json_number(const json& v) {
    Number n;
    if (v.is_number_unsigned()) {
        n.kind = Number::Kind::Unsigned;
        n.u = v.get<std::uint64_t>();
    } else if (v.is_number_integer()) {
        n.kind = Number::Kind::Signed;
        n.i = v.get<std::int64_t>();
    } else if (v.is_number_float()) {
        n.kind = Number::Kind::Float;
        n.d = v.get<double>();
        if (!std::isfinite(n.d)) return std::nullopt;
    } else {
        return std::nullopt;
    }
    return n;
}

// A string that is entirely a finite decimal number; no whitespace, no leading '+'.
std::optional<Number> numeric_string(std::string_view s) {
    if (s.empty()) return std::nullopt;
    const char* first = s.data();
    const char* last = s.data() + s.size();
    Number n;
    {
        auto [p, ec] = std::from_chars(first, last, n.i);
        if (ec == std::errc() && p == last) {
            n.kind = Number::Kind::Signed;
            return n;
        }
    }
    {
        auto [p, ec] = std::from_chars(first, last, n.u);
        if (ec == std::errc() && p == last) {
            n.kind = Number::Kind::Unsigned;
            return n;
        }
    }
    auto [p, ec] = std::from_chars(first, last, n.d, std::chars_format::general);
    if (ec != std::errc() || p != last || !std::isfinite(n.d)) return std::nullopt;
    n.kind = Number::Kind::Float;
    return n;
}

// A number from the context: a JSON number or a numeric string.
std::optional<Number> context_number(const json& v) {
    if (v.is_string()) return numeric_string(v.get_ref<const std::string&>());
    return json_number(v);
}

// The first `max` UTF-8 characters of `text`, with "..." when something was cut.
std::string truncated(std::string text, std::size_t max) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
        if (chars++ == max) {
            text.resize(i);
            return text + "...";
        }
    }
    return text;
}

std::string show(const json& v) {
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A rule value as written, for reasons.
std::string show_rule(const json& v) {
    return truncated(show(v), kMaxRuleTextChars);
}

// A context value, for reasons: never more than kMaxEchoedChars characters of its JSON text. A
// long string is cut before it is escaped (a character is at most 4 bytes, so the first 4 * max
// bytes hold every character that can be shown); other values are bounded by validate_context.
std::string show_context(const json& v) {
    constexpr std::size_t kBytes = 4 * kMaxEchoedChars;
    if (v.is_string() && v.get_ref<const std::string&>().size() > kBytes)
        return truncated(show(json(v.get_ref<const std::string&>().substr(0, kBytes))),
                         kMaxEchoedChars);
    return truncated(show(v), kMaxEchoedChars);
}

// A rule scalar: string, number or boolean.
struct Scalar {
    enum class Kind { String, Number, Bool } kind = Kind::String;
    std::string s;
    Number n;
    bool b = false;

    bool equals(const json& v) const {
        switch (kind) {
            case Kind::String:
                return v.is_string() && v.get_ref<const std::string&>() == s;
            case Kind::Bool:
                return v.is_boolean() && v.get<bool>() == b;
            case Kind::Number: {
                auto x = context_number(v);
                return x && compare(*x, n) == 0;
            }
        }
        return false;
    }
};

enum class Op { Eq, Ne, In, NotIn, Gt, Gte, Lt, Lte, Exists };

struct OpName {
    std::string_view name;
    Op op;
};
constexpr OpName kOps[] = {{"eq", Op::Eq},        {"ne", Op::Ne},   {"in", Op::In},
                           {"not_in", Op::NotIn}, {"gt", Op::Gt},   {"gte", Op::Gte},
                           {"lt", Op::Lt},        {"lte", Op::Lte}, {"exists", Op::Exists}};

std::string_view symbol(Op op) {
    switch (op) {
        case Op::Gt:
            return ">";
        case Op::Gte:
            return ">=";
        case Op::Lt:
            return "<";
        case Op::Lte:
            return "<=";
        default:
            return "?";
    }
}

struct Condition {
    Op op = Op::Eq;
    std::vector<Scalar> values;  // one for eq/ne/ordering, the list for in/not_in
    bool flag = false;           // exists
    std::string text;            // the rule value as written, for reasons
};

// Counts what a rule document holds, so that one document cannot make every match slow.
struct Budget {
    std::size_t items = 0;   // rule objects, combinators and operator conditions
    std::size_t values = 0;  // scalars in in / not_in lists

    void item() {
        if (++items > kMaxRuleItems)
            invalid_field("targeting",
                          "more than " + std::to_string(kMaxRuleItems) + " rules and conditions");
    }
    void list(std::size_t n) {
        values += n;
        if (values > kMaxRuleValues)
            invalid_field("targeting",
                          "more than " + std::to_string(kMaxRuleValues) + " list values in total");
    }
};

// A rule value that is not of the expected type: 22004 for null, 22P02 otherwise.
[[noreturn]] void wrong(const json& v, const std::string& path, const std::string& why) {
    if (v.is_null()) null_field(path);
    wrong_type(path, why);
}

// A number from a rule; the glue's NaN marker (a number that did not fit a double) is 22003.
Number rule_number(const json& v, const std::string& path) {
    auto n = json_number(v);
    if (!n) out_of_range(path, "number is out of range for double precision");
    return *n;
}

Scalar compile_scalar(const json& v, const std::string& path) {
    Scalar s;
    if (v.is_string()) {
        s.kind = Scalar::Kind::String;
        s.s = v.get<std::string>();
    } else if (v.is_boolean()) {
        s.kind = Scalar::Kind::Bool;
        s.b = v.get<bool>();
    } else if (v.is_number()) {
        s.kind = Scalar::Kind::Number;
        s.n = rule_number(v, path);
    } else {
        wrong(v, path, "must be a string, number or boolean");
    }
    return s;
}

std::vector<Scalar> compile_list(const json& v, const std::string& path, Budget& budget) {
    if (!v.is_array()) wrong(v, path, "must be an array of strings, numbers or booleans");
    if (v.empty()) invalid_field(path, "must not be an empty list");
    budget.list(v.size());
    std::vector<Scalar> out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
        out.push_back(compile_scalar(v[i], path + "[" + std::to_string(i) + "]"));
    return out;
}

Condition compile_operator(Op op, const json& v, const std::string& path, Budget& budget) {
    budget.item();
    Condition c;
    c.op = op;
    c.text = show_rule(v);
    switch (op) {
        case Op::Eq:
        case Op::Ne:
            c.values.push_back(compile_scalar(v, path));
            break;
        case Op::In:
        case Op::NotIn:
            c.values = compile_list(v, path, budget);
            break;
        case Op::Gt:
        case Op::Gte:
        case Op::Lt:
        case Op::Lte: {
            if (!v.is_number()) wrong(v, path, "must be a number");
            Scalar s;
            s.kind = Scalar::Kind::Number;
            s.n = rule_number(v, path);
            c.values.push_back(s);
            break;
        }
        case Op::Exists:
            if (!v.is_boolean()) wrong(v, path, "must be true or false");
            c.flag = v.get<bool>();
            break;
    }
    return c;
}

}  // namespace

struct Targeting::Node {
    enum class Type { All, Any, Not, Attribute } type = Type::All;
    std::vector<std::unique_ptr<Node>> children;  // All, Any, Not (one child)
    std::string rule_text;                        // Not: the negated rule, for reasons
    std::string attribute;                        // Attribute
    std::vector<Condition> conditions;            // Attribute: all must hold
};

namespace {

using Node = Targeting::Node;

std::unique_ptr<Node> compile_rule(const json& rule, const std::string& path, int depth,
                                   Budget& budget);

std::unique_ptr<Node> compile_attribute(const std::string& name, const json& v,
                                        const std::string& path, Budget& budget) {
    auto node = std::make_unique<Node>();
    node->type = Node::Type::Attribute;
    node->attribute = name;
    if (v.is_array()) {
        node->conditions.push_back(compile_operator(Op::In, v, path, budget));
    } else if (v.is_object()) {
        if (v.empty()) invalid_field(path, "operator object must hold at least one operator");
        for (auto it = v.begin(); it != v.end(); ++it) {
            const OpName* found = nullptr;
            for (const auto& o : kOps)
                if (o.name == it.key()) found = &o;
            if (!found)
                invalid_field(
                    path + "." + it.key(),
                    "unknown operator (allowed: eq, ne, in, not_in, gt, gte, lt, lte, exists)");
            node->conditions.push_back(
                compile_operator(found->op, it.value(), path + "." + it.key(), budget));
        }
    } else if (v.is_string() || v.is_number() || v.is_boolean()) {
        node->conditions.push_back(compile_operator(Op::Eq, v, path, budget));
    } else {
        wrong(v, path, "must be a string, number, boolean, array or operator object");
    }
    return node;
}

std::unique_ptr<Node> compile_list_combinator(Node::Type type, const json& v,
                                              const std::string& path, int depth, Budget& budget) {
    if (!v.is_array()) wrong(v, path, "must be a non-empty array of rule objects");
    if (v.empty()) invalid_field(path, "must be a non-empty array of rule objects");
    auto node = std::make_unique<Node>();
    node->type = type;
    for (std::size_t i = 0; i < v.size(); ++i)
        node->children.push_back(
            compile_rule(v[i], path + "[" + std::to_string(i) + "]", depth + 1, budget));
    return node;
}

std::unique_ptr<Node> compile_rule(const json& rule, const std::string& path, int depth,
                                   Budget& budget) {
    if (depth > kMaxDepth)
        invalid_field(path,
                      "rules are nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (!rule.is_object()) wrong(rule, path, "a rule must be a JSON object");
    budget.item();
    check_interrupt();
    auto node = std::make_unique<Node>();
    node->type = Node::Type::All;
    for (auto it = rule.begin(); it != rule.end(); ++it) {
        const std::string& key = it.key();
        std::string sub = path + "." + key;
        if (key.empty()) invalid_field(path, "attribute names must not be empty");
        if (key == "any") {
            budget.item();
            node->children.push_back(
                compile_list_combinator(Node::Type::Any, it.value(), sub, depth, budget));
        } else if (key == "all") {
            budget.item();
            node->children.push_back(
                compile_list_combinator(Node::Type::All, it.value(), sub, depth, budget));
        } else if (key == "not") {
            budget.item();
            auto neg = std::make_unique<Node>();
            neg->type = Node::Type::Not;
            neg->rule_text = show_rule(it.value());
            neg->children.push_back(compile_rule(it.value(), sub, depth + 1, budget));
            node->children.push_back(std::move(neg));
        } else {
            node->children.push_back(compile_attribute(key, it.value(), sub, budget));
        }
    }
    // A rule of exactly one entry is that entry.
    if (node->children.size() == 1) return std::move(node->children.front());
    return node;
}

// Evaluates one condition; on failure writes the reason.
bool holds(const Condition& c, const std::string& attr, const json* v, std::string& reason) {
    if (v == nullptr) {
        switch (c.op) {
            case Op::Ne:
            case Op::NotIn:
                return true;
            case Op::Exists:
                if (!c.flag) return true;
                [[fallthrough]];
            default:
                reason = attr + " is missing";
                return false;
        }
    }
    switch (c.op) {
        case Op::Eq:
            if (c.values[0].equals(*v)) return true;
            reason = attr + " " + show_context(*v) + " is not " + c.text;
            return false;
        case Op::Ne:
            if (!c.values[0].equals(*v)) return true;
            reason = attr + " " + show_context(*v) + " must not be " + c.text;
            return false;
        case Op::In:
        case Op::NotIn: {
            bool found = false;
            for (const auto& s : c.values)
                if (s.equals(*v)) {
                    found = true;
                    break;
                }
            if (c.op == Op::In) {
                if (found) return true;
                reason = attr + " " + show_context(*v) + " is not in " + c.text;
            } else {
                if (!found) return true;
                reason = attr + " " + show_context(*v) + " must not be in " + c.text;
            }
            return false;
        }
        case Op::Gt:
        case Op::Gte:
        case Op::Lt:
        case Op::Lte: {
            auto x = context_number(*v);
            if (!x) {
                reason = attr + " " + show_context(*v) + " is not a number";
                return false;
            }
            int cmp = compare(*x, c.values[0].n);
            bool ok = (c.op == Op::Gt && cmp > 0) || (c.op == Op::Gte && cmp >= 0) ||
                      (c.op == Op::Lt && cmp < 0) || (c.op == Op::Lte && cmp <= 0);
            if (ok) return true;
            reason = attr + " " + show_context(*v) + " is not " + std::string(symbol(c.op)) + " " +
                     c.text;
            return false;
        }
        case Op::Exists:
            if (c.flag) return true;
            reason = attr + " is present but must be missing";
            return false;
    }
    return false;
}

bool evaluate(const Node& node, const json& context, std::string& reason) {
    switch (node.type) {
        case Node::Type::Attribute: {
            auto it = context.find(node.attribute);
            const json* v = (it == context.end() || it->is_null()) ? nullptr : &*it;
            for (const auto& c : node.conditions)
                if (!holds(c, node.attribute, v, reason)) return false;
            return true;
        }
        case Node::Type::All:
            for (const auto& child : node.children)
                if (!evaluate(*child, context, reason)) return false;
            return true;
        case Node::Type::Any: {
            std::string all_reasons;
            for (const auto& child : node.children) {
                std::string r;
                if (evaluate(*child, context, r)) return true;
                if (!all_reasons.empty()) all_reasons += "; ";
                all_reasons += r;
            }
            reason = "none of the \"any\" rules matched: " + all_reasons;
            return false;
        }
        case Node::Type::Not: {
            std::string ignored;
            if (!evaluate(*node.children.front(), context, ignored)) return true;
            reason = "negated rule matched: " + node.rule_text;
            return false;
        }
    }
    return false;
}

}  // namespace

Targeting::Targeting() = default;
Targeting::~Targeting() = default;
Targeting::Targeting(Targeting&&) noexcept = default;
Targeting& Targeting::operator=(Targeting&&) noexcept = default;

Targeting Targeting::compile(const nlohmann::json& rules) {
    Targeting t;
    if (rules.is_null()) return t;
    if (!rules.is_object()) wrong_type("targeting", "a rule must be a JSON object");
    if (rules.empty()) return t;
    Budget budget;
    t.root_ = compile_rule(rules, "targeting", 1, budget);
    return t;
}

bool Targeting::matches_everyone() const {
    return root_ == nullptr;
}

MatchResult Targeting::match(const nlohmann::json& context) const {
    MatchResult result;
    if (!root_) return result;
    static const json kEmpty = json::object();
    const json* ctx = &context;
    if (context.is_null()) {
        ctx = &kEmpty;
    } else if (!context.is_object()) {
        wrong_type("context", "must be a JSON object of attributes");
    }
    result.matched = evaluate(*root_, *ctx, result.reason);
    if (result.matched) result.reason.clear();
    return result;
}

void validate_context(const nlohmann::json& context) {
    if (context.is_null()) return;
    if (!context.is_object()) wrong_type("context", "must be a JSON object of attributes");
    require_document_limits(context, "context");
    require_representable_numbers(context, "context");
}

}  // namespace abx
