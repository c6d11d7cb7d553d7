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
//
// Limits of a rule document (beyond them: 22023 naming "targeting" or the path): rule objects are
// nested at most kMaxRuleDepth deep; it holds at most kMaxRuleItems rule objects, combinators and
// operator conditions together, and at most kMaxRuleValues scalars in in / not_in lists in total.
// These bound the work of every match. A context is at most kMaxDocumentBytes (65536) bytes of
// JSON text and kMaxDocumentDepth (32) deep (json_limits.hpp; validate_context).
#pragma once
#include "abx/core_only.hpp"

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace abx {

inline constexpr int kMaxRuleDepth = 32;
inline constexpr std::size_t kMaxRuleItems = 1000;
inline constexpr std::size_t kMaxRuleValues = 10000;

struct MatchResult {
    bool matched = true;
    // Empty when matched; otherwise says which attribute failed and why. It never echoes more than
    // 64 characters of a context value (cut with "...") nor 256 of a rule value.
    std::string reason;
};

// Checks a context before matching (the glue calls it for every context it receives): null is
// "no attributes"; anything but an object is 22P02; deeper than 32 or longer than 65536 bytes of
// JSON text is 22023; a number that did not fit a double is 22003 naming it ("context.age").
void validate_context(const nlohmann::json& context);

class Targeting {
  public:
    // Validates and compiles a rule document; throws Error naming the offending path (e.g.
    // "targeting.txn_count.gte") on a malformed rule: 22P02 for a value of the wrong JSON type,
    // 22004 for null, 22003 for a number that did not fit a double, 22023 for anything else.
    // null or {} means "everyone".
    static Targeting compile(const nlohmann::json& rules);

    // Evaluates the rules; a context that is neither an object nor null is 22P02.
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

}  // namespace abx
