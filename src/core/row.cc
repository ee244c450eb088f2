// Row: reading a column as the type the caller wants (storyloom/table_data.h).
#include <string>
#include <type_traits>

#include "storyloom/table_data.h"

namespace storyloom {

bool Row::IsNull(std::size_t i) const {
  return std::holds_alternative<std::monostate>(values_.at(i));
}

namespace {

// `v` as the number type T: as stored, converted from the other number type, or parsed
// from text; 0 for NULL and for text that is not a number.
template <typename T>
T NumberOf(const Value& v) {
  if (const auto* p = std::get_if<std::int64_t>(&v)) return static_cast<T>(*p);
  if (const auto* d = std::get_if<double>(&v)) return static_cast<T>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    try {
      if constexpr (std::is_same_v<T, double>) {
        return std::stod(*s);
      } else {
        return std::stoll(*s);
      }
    } catch (...) {
      return T{};
    }
  }
  return T{};
}

}  // namespace

std::int64_t Row::Int(std::size_t i) const { return NumberOf<std::int64_t>(values_.at(i)); }

double Row::Real(std::size_t i) const { return NumberOf<double>(values_.at(i)); }

std::string Row::Text(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* p = std::get_if<std::int64_t>(&v)) return std::to_string(*p);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return {};
}

std::optional<std::int64_t> Row::OptInt(std::size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

}  // namespace storyloom
