// Identifiers and secrets: UUIDv7 entity ids (time-ordered, so sorting by id sorts by
// creation), random tokens. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "storyloom/types.h"

namespace storyloom::core {

// Returns a new UUIDv7 in canonical lowercase form. Ids made by one process are strictly
// increasing, even within one millisecond.
std::string NewId();
// Returns true if `s` is a canonical lowercase UUID (any version).
bool IsUuid(std::string_view s);
// Returns the millisecond timestamp embedded in a UUIDv7.
Millis UuidV7Time(std::string_view id);
// Returns `bytes` random bytes, hex encoded (2*bytes characters).
std::string RandomHex(std::size_t bytes);
// Returns a random URL-safe token carrying `bytes` bytes of entropy.
std::string RandomToken(std::size_t bytes = 32);

}  // namespace storyloom::core
