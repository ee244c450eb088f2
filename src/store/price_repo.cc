// Versioned model prices: rows are only ever added; a new row closes the one it replaces by
// setting its effective_to, so the cost of a recorded call never changes.
#include <fmt/format.h>

#include "core/clock.h"
#include "db/database.h"
#include "storyloom/store.h"

namespace storyloom {

using db::Value;

namespace {

constexpr std::string_view kPriceColumns =
    "id, provider, model_pattern, operation, image_size, image_quality, input_per_mtok_nusd, "
    "cached_input_per_mtok_nusd, output_per_mtok_nusd, per_image_nusd, per_mchar_nusd, "
    "per_minute_nusd, effective_from, effective_to, source, created_at";

ModelPrice PriceFromRow(const db::Row& r) {
  ModelPrice p;
  p.id = r.Int(0);
  p.provider = r.Text(1);
  p.model_pattern = r.Text(2);
  p.operation = r.Text(3);
  p.image_size = r.Text(4);
  p.image_quality = r.Text(5);
  p.input_per_mtok_nusd = r.OptInt(6);
  p.cached_input_per_mtok_nusd = r.OptInt(7);
  p.output_per_mtok_nusd = r.OptInt(8);
  p.per_image_nusd = r.OptInt(9);
  p.per_mchar_nusd = r.OptInt(10);
  p.per_minute_nusd = r.OptInt(11);
  p.effective_from = r.Int(12);
  p.effective_to = r.OptInt(13);
  p.source = r.Text(14);
  p.created_at = r.Int(15);
  return p;
}

Result<std::vector<ModelPrice>> Prices(db::Connection& c, std::string_view sql,
                                       std::span<const Value> params) {
  SL_ASSIGN_OR_RETURN(auto rows, c.Query(sql, params));
  std::vector<ModelPrice> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(PriceFromRow(r));
  return out;
}

}  // namespace

Result<std::vector<ModelPrice>> PriceRepo::List(bool current_only, Millis at) {
  if (!current_only) {
    return Prices(
        c_,
        fmt::format("SELECT {} FROM model_prices ORDER BY provider, operation, "
                    "model_pattern, image_size, image_quality, effective_from DESC, id DESC",
                    kPriceColumns),
        {});
  }
  const Value v[] = {at, at};
  return Prices(c_,
                fmt::format("SELECT {} FROM model_prices WHERE effective_from <= ? AND "
                            "(effective_to IS NULL OR effective_to > ?) ORDER BY provider, "
                            "operation, model_pattern, image_size, image_quality, id",
                            kPriceColumns),
                v);
}

Result<std::vector<ModelPrice>> PriceRepo::InEffect(std::string_view provider,
                                                    std::string_view operation, Millis at) {
  const Value v[] = {std::string(provider), std::string(operation), at, at};
  return Prices(c_,
                fmt::format("SELECT {} FROM model_prices WHERE provider = ? AND operation = ? AND "
                            "effective_from <= ? AND (effective_to IS NULL OR effective_to > ?) "
                            "ORDER BY effective_from DESC, id DESC",
                            kPriceColumns),
                v);
}

Result<ModelPrice> PriceRepo::Add(const ModelPrice& p) {
  if (p.provider.empty()) return Fail(Error::InvalidArgument("provider is required", "provider"));
  if (p.model_pattern.empty()) return Fail(Error::InvalidArgument("model is required", "model"));
  if (p.operation != "chat" && p.operation != "image" && p.operation != "speech") {
    return Fail(Error::InvalidArgument("operation must be chat, image or speech", "operation"));
  }
  for (const auto& rate :
       {p.input_per_mtok_nusd, p.cached_input_per_mtok_nusd, p.output_per_mtok_nusd,
        p.per_image_nusd, p.per_mchar_nusd, p.per_minute_nusd}) {
    if (rate && *rate < 0)
      return Fail(Error::InvalidArgument("prices must not be negative", "price"));
    // engine::kMaxRateNusd: $1,000,000 per unit keeps every call's cost computable.
    if (rate && *rate > 1'000'000'000'000'000)
      return Fail(Error::InvalidArgument("prices must be at most $1,000,000 per unit", "price"));
  }
  if (p.effective_to && *p.effective_to <= p.effective_from) {
    return Fail(
        Error::InvalidArgument("effective_to must be after effective_from", "effective_to"));
  }
  ModelPrice out = p;
  if (out.created_at == 0) out.created_at = core::WallMillis();
  // Close the row this one replaces: same key, open at the new row's start.
  const Value close[] = {out.effective_from, out.provider,      out.model_pattern,
                         out.operation,      out.image_size,    out.image_quality,
                         out.effective_from, out.effective_from};
  SL_RETURN_IF_ERROR(c_.Exec(
      "UPDATE model_prices SET effective_to = ? WHERE provider = ? AND model_pattern = ? AND "
      "operation = ? AND coalesce(image_size, '') = ? AND coalesce(image_quality, '') = ? AND "
      "effective_from < ? AND (effective_to IS NULL OR effective_to > ?)",
      close));
  const Value v[] = {out.provider,
                     out.model_pattern,
                     out.operation,
                     db::TextOrNull(out.image_size),
                     db::TextOrNull(out.image_quality),
                     db::OptInt(out.input_per_mtok_nusd),
                     db::OptInt(out.cached_input_per_mtok_nusd),
                     db::OptInt(out.output_per_mtok_nusd),
                     db::OptInt(out.per_image_nusd),
                     db::OptInt(out.per_mchar_nusd),
                     db::OptInt(out.per_minute_nusd),
                     out.effective_from,
                     db::OptInt(out.effective_to),
                     out.source,
                     out.created_at};
  SL_ASSIGN_OR_RETURN(
      auto row,
      c_.QueryOne("INSERT INTO model_prices (provider, model_pattern, operation, image_size, "
                  "image_quality, input_per_mtok_nusd, cached_input_per_mtok_nusd, "
                  "output_per_mtok_nusd, per_image_nusd, per_mchar_nusd, per_minute_nusd, "
                  "effective_from, effective_to, source, created_at) VALUES "
                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  v));
  out.id = row.Int(0);
  return out;
}

}  // namespace storyloom
