// Targeting rules evaluated against an assignment's context (a JSON object of attributes).
//
// A rule document is a JSON object; every key is either an attribute name or a combinator, and all
// entries must match (logical AND):
//   {"country": ["SN", "FR"]}                 attribute in list
//   {"lang": "fr"}                            attribute equals scalar
//   {"txn_count": {"gte": 5}}                 operator object: eq ne in not_in gt gte lt lte exists
//   {"any": [rule, rule]}  {"all": [...]}  {"not": rule}
// An attribute missing from the context fails every operator except {"exists": false} and not_in/ne
// (a missing value is not in any list and differs from any value). Numeric operators require
// numbers on both sides (a numeric string in the context is accepted). Comparisons of strings are
// exact.
#pragma once
#include "abx/core_only.hpp"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace abx {

struct MatchResult {
    bool matched = true;
    std::string reason;  // empty when matched; otherwise says which attribute failed and why
};

class Targeting {
  public:
    // Validates and compiles a rule document; throws Error 22023 naming the offending path
    // (e.g. "targeting.txn_count.gte") on a malformed rule. null or {} means "everyone".
    static Targeting compile(const nlohmann::json& rules);

    MatchResult match(const nlohmann::json& context) const;
    bool matches_everyone() const;

    struct Node;  // defined in the implementation
    Targeting();
    ~Targeting();
    Targeting(Targeting&&) noexcept;
    Targeting& operator=(Targeting&&) noexcept;

  private:
    std::unique_ptr<Node> root_;
};

// Checks a subject's context before matching: a JSON object (22P02), numbers that fit a double
// (22003 naming context.<path>), at most 32 levels deep (22023).
void validate_context(const nlohmann::json& context);

}  // namespace abx
