// Failpoints: named places where a test build makes the program fail on purpose, switched on
// by the environment (`STORYLOOM_FAILPOINTS="exit.leak,exit.status=3"`). Only the sanitizer
// builds `make test` uses (ASan+UBSan and TSan) read the variable (failpoint.cc is compiled
// with STORYLOOM_FAILPOINTS there); in every other build Failpoint() always returns false.
// The list of failpoints is in docs/RELIABILITY.md.
// Thread-safe: the variable is read once, on first use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace storyloom {

// True when failpoint `name` is switched on.
bool Failpoint(std::string_view name);
// The argument of `name=arg`, or nullopt when the failpoint is off ("" when it has none).
std::optional<std::string> FailpointArg(std::string_view name);
// The errno that failpoint `name` injects into this call, or 0. Its argument names the
// error: `name=EIO` (also ENOSPC, EDQUOT, EROFS) fails every call; `name=EIO:N` only the
// first N calls (counted across threads), after which the call goes through again.
int FailpointErrno(std::string_view name);

}  // namespace storyloom
