#include "encoding.hpp"

#include <charconv>

namespace abx::http {

std::string to_hex(const unsigned char* bytes, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view s) {
    if (s.size() % 2) return std::nullopt;
    std::vector<unsigned char> out;
    for (std::size_t i = 0; i < s.size(); i += 2) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
        if (ec != std::errc() || p != s.data() + i + 2) return std::nullopt;
        out.push_back(static_cast<unsigned char>(v));
    }
    return out;
}

}  // namespace abx::http
