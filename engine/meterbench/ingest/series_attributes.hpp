#pragma once
// What `ingest` carries per series beside its values: the kept dimension columns (--keep) and the currency
// (--currency, converted with --rates). Internal to ingest.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/io/dataset.hpp"
#include "meterbench/ingest/usage_row.hpp"

namespace meterbench::usage_csv {

/// Resolves the --keep columns (each a header column named once) and the --currency column into `columns`.
/// Throws CsvError naming `file`, the column and the header for an absent or repeated column, and
/// std::invalid_argument for a column kept twice.
void resolve_attribute_columns(const std::string& file, const std::vector<std::string_view>& header, const std::vector<std::string>& keep,
                               const std::string& currency, Columns& columns);

/// The kept cells of a row as one string (each cell as 4 length bytes and its text), compared and stored whole.
void encode_dimensions(const std::vector<std::string_view>& fields, const std::vector<int>& keep, std::string& out);
/// Appends the cells `encoded` holds to `out`, in order.
void decode_dimensions(std::string_view encoded, SeriesDimensions& out);

/// A currency code (1 to 8 bytes of ASCII letters) as a number: its bytes, upper-cased; 0 when it is not one.
std::uint64_t currency_code(std::string_view text);
/// The code's text.
std::string currency_name(std::uint64_t code);

/// --rates: `currency,rate_to_usd` rows (a header line first). Throws CsvError naming the file, line and value.
class CurrencyRates {
 public:
  explicit CurrencyRates(const std::filesystem::path& path);
  /// USD per unit of the currency, or nullopt when the file does not list it.
  [[nodiscard]] std::optional<double> rate(std::uint64_t code) const;
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<std::uint64_t, double> rates_;
};

/// Converts a checked row's price to USD with the rate of its currency (column `currency_column`); a currency
/// the rates do not list makes `check` a bad row.
void convert_price(const CurrencyRates& rates, int currency_column, const std::vector<std::string_view>& header, ParsedRow& row, RowCheck& check);

}  // namespace meterbench::usage_csv

namespace meterbench {
class SeriesKeyTable;
}

namespace meterbench::usage_csv {

/// The one currency of the series (--currency without --rates). Throws CsvError for a series whose rows mix
/// currencies (naming it, both currencies, where the first currency starts and the first row of another)
/// or for two series in different currencies. `where` names the row at a file offset ("FILE:LINE").
std::string single_currency(const SeriesKeyTable& series, const std::function<std::string(std::int64_t)>& where);
/// The dataset's currency: single_currency when the rows' currencies are tracked (--currency without
/// --rates), else USD (prices in USD, or converted to it).
std::string dataset_currency(bool tracked, const SeriesKeyTable& series, const std::function<std::string(std::int64_t)>& where);

}  // namespace meterbench::usage_csv
