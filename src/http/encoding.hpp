// Lower-case hex for the gateway's bytes (password salts and hashes, request ids).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace abx::http {

std::string to_hex(const unsigned char* bytes, std::size_t n);
// nullopt for an odd length or a character that is not a hex digit.
std::optional<std::vector<unsigned char>> from_hex(std::string_view text);

}  // namespace abx::http
