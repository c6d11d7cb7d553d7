#include "jsonb_reader.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

extern "C" {
#include "access/detoast.h"
#include "utils/numeric.h"
}

namespace abx::pg {
namespace {

// One token of a jsonb document, as plain data: collected under pg_guard (PostgreSQL may raise
// while iterating), turned into nlohmann::json afterwards, outside any longjmp.
struct Token {
    JsonbIteratorToken kind;
    enum jbvType type;
    const char* text;  // string value or key, numeric as text; palloc'd or inside the jsonb
    int length;
    bool flag;  // boolean value, or rawScalar for WJB_BEGIN_ARRAY
};

struct Tokens {
    Token* items;
    std::size_t count;
};

Tokens collect(Datum datum) {
    return pg_call([&] {
        Jsonb* jb = DatumGetJsonbP(datum);
        std::size_t capacity = 64, count = 0;
        Token* items = (Token*)palloc(sizeof(Token) * capacity);
        JsonbIterator* it = JsonbIteratorInit(&jb->root);
        JsonbValue v;
        JsonbIteratorToken r;
        while ((r = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
            if (count == capacity) {
                capacity *= 2;
                items = (Token*)repalloc(items, sizeof(Token) * capacity);
            }
            Token t{r, jbvNull, nullptr, 0, false};
            if (r == WJB_BEGIN_ARRAY) t.flag = v.val.array.rawScalar;
            if (r == WJB_KEY || r == WJB_VALUE || r == WJB_ELEM) {
                t.type = v.type;
                if (v.type == jbvString) {
                    t.text = v.val.string.val;
                    t.length = v.val.string.len;
                } else if (v.type == jbvNumeric) {
                    t.text = DatumGetCString(
                        DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
                    t.length = (int)strlen(t.text);
                } else if (v.type == jbvBool) {
                    t.flag = v.val.boolean;
                }
            }
            items[count++] = t;
        }
        return Tokens{items, count};
    });
}

bool has_nonzero_digit(std::string_view s) {
    for (char c : s) {
        if (c == 'e' || c == 'E') break;
        if (c >= '1' && c <= '9') return true;
    }
    return false;
}

// numeric_out text -> JSON number: integers that fit 64 bits stay integers; everything else is a
// double, or NaN when it does not fit a normal finite double.
nlohmann::json number(std::string_view s) {
    if (s.find_first_of(".eE") == std::string_view::npos) {
        std::int64_t i = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
        if (ec == std::errc() && end == s.data() + s.size()) return i;
        std::uint64_t u = 0;
        auto [uend, uec] = std::from_chars(s.data(), s.data() + s.size(), u);
        if (uec == std::errc() && uend == s.data() + s.size()) return u;
    }
    std::string text(s);
    errno = 0;
    double d = std::strtod(text.c_str(), nullptr);
    bool underflow = (d == 0 && has_nonzero_digit(s)) ||
                     (d != 0 && std::fabs(d) < std::numeric_limits<double>::min());
    if (!std::isfinite(d) || underflow) return std::numeric_limits<double>::quiet_NaN();
    return d;
}

nlohmann::json scalar(const Token& t) {
    switch (t.type) {
        case jbvString:
            return std::string(t.text, (std::size_t)t.length);
        case jbvNumeric:
            return number(std::string_view(t.text, (std::size_t)t.length));
        case jbvBool:
            return t.flag;
        default:
            return nullptr;
    }
}

}  // namespace

nlohmann::json json_from_jsonb(Datum jsonb) {
    Tokens tokens = collect(jsonb);
    // A stack of open containers; an object's key waits on `keys` until its value is placed.
    std::vector<nlohmann::json> stack;
    std::vector<std::string> keys;
    nlohmann::json root;
    bool raw_scalar = false;
    auto place = [&](nlohmann::json value) {
        if (stack.empty()) {
            root = std::move(value);
        } else if (stack.back().is_object()) {
            stack.back()[keys.back()] = std::move(value);
            keys.pop_back();
        } else {
            stack.back().push_back(std::move(value));
        }
    };
    for (std::size_t i = 0; i < tokens.count; ++i) {
        const Token& t = tokens.items[i];
        switch (t.kind) {
            case WJB_BEGIN_ARRAY:
                if (t.flag) {
                    raw_scalar = true;  // a top-level scalar is stored as a one-element array
                    break;
                }
                stack.push_back(nlohmann::json::array());
                break;
            case WJB_BEGIN_OBJECT:
                stack.push_back(nlohmann::json::object());
                break;
            case WJB_KEY:
                keys.emplace_back(t.text, (std::size_t)t.length);
                break;
            case WJB_VALUE:
            case WJB_ELEM:
                if (raw_scalar && stack.empty())
                    root = scalar(t);
                else
                    place(scalar(t));
                break;
            case WJB_END_ARRAY:
            case WJB_END_OBJECT: {
                if (stack.empty()) break;  // end of a raw scalar's pseudo-array
                nlohmann::json done = std::move(stack.back());
                stack.pop_back();
                place(std::move(done));
                break;
            }
            default:
                break;
        }
    }
    return root;
}

long jsonb_array_length(Datum jsonb, const char* key) {
    return pg_call([&]() -> long {
        Jsonb* jb = DatumGetJsonbP(jsonb);
        if (JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb)) return (long)JB_ROOT_COUNT(jb);
        if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_COUNT(jb) != 1) return -1;
        JsonbValue k;
        k.type = jbvString;
        k.val.string.val = const_cast<char*>(key);
        k.val.string.len = (int)strlen(key);
        JsonbValue* v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
        if (v == nullptr || v->type != jbvBinary) return -1;
        JsonbContainer* c = v->val.binary.data;
        if (!JsonContainerIsArray(c) || JsonContainerIsScalar(c)) return -1;
        return (long)JsonContainerSize(c);
    });
}

std::size_t jsonb_size(Datum jsonb) {
    return pg_call([&] { return (std::size_t)toast_raw_datum_size(jsonb); });
}

}  // namespace abx::pg
