// Reading PostgreSQL jsonb into nlohmann::json without a detour through text. jsonb numbers are
// arbitrary-precision numerics; every number that does not fit a normal finite double (1e999,
// 1e-400) becomes NaN, the marker abx/json_limits.hpp reports by path, so that a caller learns
// which field was out of range instead of a parser's message.
#pragma once
#include "pg.hpp"

#include <cstddef>

namespace abx::pg {

// The document of a jsonb Datum (detoasted as needed).
nlohmann::json json_from_jsonb(Datum jsonb);

// Number of elements of a top-level jsonb array, or of the array under `key` of a top-level object
// with that single key; -1 otherwise. Cheap: reads the container header, converts nothing.
long jsonb_array_length(Datum jsonb, const char* key);

// Serialized size in bytes of a jsonb Datum (its varlena size): a cheap bound before converting.
std::size_t jsonb_size(Datum jsonb);

}  // namespace abx::pg
