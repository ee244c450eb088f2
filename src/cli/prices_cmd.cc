// storyloom prices list [--json] | set | import FILE.toml|FILE.json
#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/clock.h"
#include "engine/pricing.h"

namespace storyloom::cli {
namespace {

using nlohmann::json;

struct PricesFlags {
  bool all = false;
  std::string provider = "openai", model, operation, image_size, image_quality;
  std::string input, cached_input, output, per_image, per_mchar, per_minute;
  std::string effective_from, source = "cli";
  std::string file;
  bool json = false;
};

Result<std::optional<NanoUsd>> OptUsd(const std::string& s) {
  if (s.empty()) return std::optional<NanoUsd>();
  SL_ASSIGN_OR_RETURN(NanoUsd n, engine::ParseUsdNano(s));
  return std::optional<NanoUsd>(n);
}

std::string Usd(const std::optional<NanoUsd>& v) {
  return v ? engine::FormatNanoUsd(*v) : std::string("-");
}

// One price from a JSON object of an import file: USD amounts per million tokens, per
// image, per million characters, per minute.
Result<ModelPrice> PriceFromJson(const json& j, std::size_t index) {
  if (!j.is_object())
    return Fail(Error::InvalidArgument(fmt::format("price #{} is not a table", index)));
  ModelPrice p;
  auto text = [&](const char* key, std::string& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string())
      return Fail(Error::InvalidArgument(fmt::format("price #{}: {} must be text", index, key)));
    out = it->get<std::string>();
    return {};
  };
  auto usd = [&](const char* key, std::optional<NanoUsd>& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    std::string s = it->is_string() ? it->get<std::string>() : it->is_number() ? it->dump() : "";
    auto v = engine::ParseUsdNano(s);
    if (!v)
      return Fail(
          Error::InvalidArgument(fmt::format("price #{}: {}: {}", index, key, v.error().message)));
    out = *v;
    return {};
  };
  p.provider = "openai";
  SL_RETURN_IF_ERROR(text("provider", p.provider));
  SL_RETURN_IF_ERROR(text("model", p.model_pattern));
  SL_RETURN_IF_ERROR(text("operation", p.operation));
  SL_RETURN_IF_ERROR(text("image_size", p.image_size));
  SL_RETURN_IF_ERROR(text("image_quality", p.image_quality));
  SL_RETURN_IF_ERROR(text("source", p.source));
  SL_RETURN_IF_ERROR(usd("input_per_mtok_usd", p.input_per_mtok_nusd));
  SL_RETURN_IF_ERROR(usd("cached_input_per_mtok_usd", p.cached_input_per_mtok_nusd));
  SL_RETURN_IF_ERROR(usd("output_per_mtok_usd", p.output_per_mtok_nusd));
  SL_RETURN_IF_ERROR(usd("per_image_usd", p.per_image_nusd));
  SL_RETURN_IF_ERROR(usd("per_mchar_usd", p.per_mchar_nusd));
  SL_RETURN_IF_ERROR(usd("per_minute_usd", p.per_minute_nusd));
  std::string from;
  SL_RETURN_IF_ERROR(text("effective_from", from));
  if (from.empty()) {
    p.effective_from = core::WallMillis();
  } else {
    auto t = core::ParseRfc3339(from);
    if (!t)
      return Fail(
          Error::InvalidArgument(fmt::format("price #{}: effective_from must be a date", index)));
    p.effective_from = *t;
  }
  return p;
}

Result<json> ReadPriceFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(Error::NotFound("cannot read " + path));
  std::stringstream ss;
  ss << in.rdbuf();
  json j;
  if (path.ends_with(".toml")) {
    try {
      toml::table t = toml::parse(ss.str(), path);
      std::stringstream out;
      out << toml::json_formatter{t};
      j = json::parse(out.str());
    } catch (const toml::parse_error& e) {
      return Fail(Error::InvalidArgument(
          fmt::format("{}:{}: {}", path, e.source().begin.line, e.description())));
    }
  } else {
    j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded()) return Fail(Error::InvalidArgument(path + " is not valid JSON"));
  }
  // {"prices": [...]}, or {"items": [...]} as `prices list --json` prints it.
  if (j.is_object() && j.contains("prices")) j = j["prices"];
  if (j.is_object() && j.contains("items")) j = j["items"];
  if (!j.is_array())
    return Fail(Error::InvalidArgument(path + " must hold a list of prices ([[prices]] in TOML)"));
  return j;
}

// A price as `prices list --json` prints it: the keys of an import file (USD amounts as
// decimal strings, null when not set), so the output imports again, plus id and effective_to.
json PriceJson(const ModelPrice& p) {
  auto usd = [](const std::optional<NanoUsd>& v) {
    return v ? json(engine::FormatNanoUsd(*v)) : json(nullptr);
  };
  auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", p.id},
          {"provider", p.provider},
          {"model", p.model_pattern},
          {"operation", p.operation},
          {"image_size", text(p.image_size)},
          {"image_quality", text(p.image_quality)},
          {"input_per_mtok_usd", usd(p.input_per_mtok_nusd)},
          {"cached_input_per_mtok_usd", usd(p.cached_input_per_mtok_nusd)},
          {"output_per_mtok_usd", usd(p.output_per_mtok_nusd)},
          {"per_image_usd", usd(p.per_image_nusd)},
          {"per_mchar_usd", usd(p.per_mchar_nusd)},
          {"per_minute_usd", usd(p.per_minute_nusd)},
          {"effective_from", core::FormatRfc3339(p.effective_from)},
          {"effective_to", p.effective_to ? json(core::FormatRfc3339(*p.effective_to)) : json()},
          {"source", text(p.source)}};
}

int List(const GlobalFlags& flags, const PricesFlags& pf) {
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto rows = store.ReadOne<std::vector<ModelPrice>>(
        [&](StoreTx& tx) { return tx.prices().List(!pf.all, core::WallMillis()); });
    if (!rows) return Die(rows.error().message);
    if (pf.json) {
      json items = json::array();
      for (const auto& p : *rows) items.push_back(PriceJson(p));
      PrintJson({{"items", items}});
      return 0;
    }
    std::printf(
        "%s\n",
        fmt::format(
            "{:>4} {:<8} {:<22} {:<6} {:<10} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:<10} {}",
            "ID", "PROVIDER", "MODEL", "OP", "SIZE", "QUALITY", "IN/MTOK", "CACHED", "OUT/MTOK",
            "IMAGE", "MCHAR", "MINUTE", "FROM", "TO")
            .c_str());
    for (const auto& p : *rows) {
      std::printf(
          "%s\n",
          fmt::format(
              "{:>4} {:<8} {:<22} {:<6} {:<10} {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:<10} {}",
              p.id, p.provider, p.model_pattern, p.operation,
              p.image_size.empty() ? "*" : p.image_size,
              p.image_quality.empty() ? "*" : p.image_quality, Usd(p.input_per_mtok_nusd),
              Usd(p.cached_input_per_mtok_nusd), Usd(p.output_per_mtok_nusd), Usd(p.per_image_nusd),
              Usd(p.per_mchar_nusd), Usd(p.per_minute_nusd), core::FormatDay(p.effective_from),
              p.effective_to ? core::FormatRfc3339(*p.effective_to) : "")
              .c_str());
    }
    std::printf("prices in USD per million tokens / image / million characters / minute\n");
    return 0;
  });
}

int Set(const GlobalFlags& flags, const PricesFlags& pf) {
  ModelPrice p;
  p.provider = pf.provider;
  p.model_pattern = pf.model;
  p.operation = pf.operation;
  p.image_size = pf.image_size;
  p.image_quality = pf.image_quality;
  p.source = pf.source;
  for (auto [text, field] : {std::pair{&pf.input, &p.input_per_mtok_nusd},
                             {&pf.cached_input, &p.cached_input_per_mtok_nusd},
                             {&pf.output, &p.output_per_mtok_nusd},
                             {&pf.per_image, &p.per_image_nusd},
                             {&pf.per_mchar, &p.per_mchar_nusd},
                             {&pf.per_minute, &p.per_minute_nusd}}) {
    auto v = OptUsd(*text);
    if (!v) return Die(v.error().message, 2);
    *field = *v;
  }
  p.effective_from = core::WallMillis();
  if (!pf.effective_from.empty()) {
    auto t = core::ParseRfc3339(pf.effective_from);
    if (!t) return Die("--effective-from must be a YYYY-MM-DD date or an RFC 3339 time", 2);
    p.effective_from = *t;
  }
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    auto added = store.WriteOne<ModelPrice>([&](StoreTx& tx) { return tx.prices().Add(p); });
    if (!added) return Die(added.error().message);
    std::printf("price %lld: %s %s %s from %s\n", static_cast<long long>(added->id),
                added->provider.c_str(), added->model_pattern.c_str(), added->operation.c_str(),
                core::FormatRfc3339(added->effective_from).c_str());
    return 0;
  });
}

int Import(const GlobalFlags& flags, const PricesFlags& pf) {
  auto list = ReadPriceFile(pf.file);
  if (!list) return Die(list.error().message, 2);
  std::vector<ModelPrice> prices;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto p = PriceFromJson((*list)[i], i + 1);
    if (!p) return Die(p.error().message, 2);
    if (p->source.empty()) p->source = "import";
    prices.push_back(std::move(*p));
  }
  return WithStore(flags, /*migrate=*/true, [&](Store& store) {
    // All or nothing: one transaction.
    auto r = store.Write([&](StoreTx& tx) -> Result<void> {
      for (const auto& p : prices) SL_RETURN_IF_ERROR(tx.prices().Add(p));
      return {};
    });
    if (!r) return Die(r.error().message);
    std::printf("imported %zu price(s) from %s\n", prices.size(), pf.file.c_str());
    return 0;
  });
}

}  // namespace

void AddPricesCommand(CLI::App& app, GlobalFlags& flags, Action& action) {
  static PricesFlags pf;
  CLI::App* prices = app.add_subcommand("prices", "Model prices used to cost API usage");
  prices->require_subcommand(1);
  CLI::App* list =
      prices->add_subcommand("list", "List the prices in effect (--all: every version)");
  list->add_flag("--all", pf.all, "include replaced prices");
  AddJsonFlag(list, pf.json);
  list->callback([&] { action = [&] { return List(flags, pf); }; });
  CLI::App* set = prices->add_subcommand(
      "set",
      "Add a price (amounts in USD); it replaces the same model's price from --effective-from");
  set->add_option("--provider", pf.provider, "provider (default openai)");
  set->add_option("--model", pf.model, "model name or glob such as gpt-4o-mini*")->required();
  set->add_option("--operation", pf.operation, "chat, image or speech")
      ->required()
      ->check(CLI::IsMember({"chat", "image", "speech"}));
  set->add_option("--image-size", pf.image_size, "image size this price is for (e.g. 1024x1024)");
  set->add_option("--image-quality", pf.image_quality, "image quality this price is for");
  set->add_option("--input", pf.input, "USD per million input tokens");
  set->add_option("--cached-input", pf.cached_input, "USD per million cached input tokens");
  set->add_option("--output", pf.output, "USD per million output tokens");
  set->add_option("--per-image", pf.per_image, "USD per image");
  set->add_option("--per-mchar", pf.per_mchar, "USD per million characters");
  set->add_option("--per-minute", pf.per_minute, "USD per minute of audio");
  set->add_option("--effective-from", pf.effective_from, "when it applies (default now)");
  set->add_option("--source", pf.source, "where the price comes from");
  set->callback([&] { action = [&] { return Set(flags, pf); }; });
  CLI::App* import =
      prices->add_subcommand("import", "Add prices from a TOML ([[prices]]) or JSON file");
  import->add_option("file", pf.file, "prices file (.toml or .json)")
      ->required()
      ->check(CLI::ExistingFile);
  import->callback([&] { action = [&] { return Import(flags, pf);
};
}  // namespace storyloom::cli
);
}

}  // namespace storyloom::cli
