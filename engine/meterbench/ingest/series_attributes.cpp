#include "meterbench/ingest/series_attributes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/ingest/series_key_table.hpp"
#include "meterbench/io/csv.hpp"

namespace meterbench::usage_csv {

namespace {

int find_column(const std::string& file, const std::vector<std::string_view>& header, std::string_view name, const char* option) {
  const auto found = std::find(header.begin(), header.end(), name);
  const std::string all = printable(fmt::format("{}", fmt::join(header, ",")));
  if (found == header.end())
    throw CsvError(fmt::format("{}: missing column '{}' (for {}) in the header: {}", file, printable(name), option, all));
  if (std::find(found + 1, header.end(), name) != header.end())
    throw CsvError(fmt::format("{}: column '{}' (for {}) appears more than once in the header: which one to read is ambiguous (header: {})", file,
                               printable(name), option, all));
  return static_cast<int>(found - header.begin());
}

}  // namespace

void resolve_attribute_columns(const std::string& file, const std::vector<std::string_view>& header, const std::vector<std::string>& keep,
                               const std::string& currency, Columns& columns) {
  for (std::size_t i = 0; i < keep.size(); ++i) {
    if (std::find(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(i), keep[i]) != keep.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument(fmt::format("--keep names column '{}' twice", printable(keep[i])));
    if (keep[i].empty()) throw std::invalid_argument("--keep: an empty column name");
    columns.keep.push_back(find_column(file, header, keep[i], "--keep"));
  }
  if (!currency.empty()) columns.currency = find_column(file, header, currency, "--currency");
}

void encode_dimensions(const std::vector<std::string_view>& fields, const std::vector<int>& keep, std::string& out) {
  out.clear();
  for (const int k : keep) {
    const std::string_view cell = fields[static_cast<std::size_t>(k)];
    const auto size = static_cast<std::uint32_t>(cell.size());
    out.append(reinterpret_cast<const char*>(&size), sizeof(size));
    out.append(cell);
  }
}

void decode_dimensions(std::string_view encoded, SeriesDimensions& out) {
  while (!encoded.empty()) {
    std::uint32_t size = 0;
    std::memcpy(&size, encoded.data(), sizeof(size));
    out.push(encoded.substr(sizeof(size), size));
    encoded.remove_prefix(sizeof(size) + size);
  }
}

std::uint64_t currency_code(std::string_view text) {
  if (text.empty() || text.size() > 8) return 0;
  std::uint64_t code = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return 0;
    code |= static_cast<std::uint64_t>(static_cast<unsigned char>(c >= 'a' ? c - 'a' + 'A' : c)) << (8 * i);
  }
  return code;
}

std::string currency_name(std::uint64_t code) {
  std::string name;
  for (; code != 0; code >>= 8) name += static_cast<char>(code & 0xFF);
  return name;
}

CurrencyRates::CurrencyRates(const std::filesystem::path& path) : file_(path.string()) {
  const MappedFile mapped(path);
  CsvScanner scanner(mapped.text(), file_);
  std::vector<std::string_view> fields;
  if (!scanner.next(fields) || fields.size() != 2 || fields[0] != "currency" || fields[1] != "rate_to_usd")
    throw CsvError(fmt::format("{}:1: expected the header currency,rate_to_usd", file_));
  while (scanner.next(fields)) {
    const std::string where = fmt::format("{}:{}", file_, scanner.line());
    if (fields.size() != 2) throw CsvError(fmt::format("{}: has {} fields, expected 2 (currency,rate_to_usd)", where, fields.size()));
    const std::uint64_t code = currency_code(fields[0]);
    if (code == 0) throw CsvError(fmt::format("{}: column 'currency': '{}' is not a currency code (1 to 8 letters)", where, printable(fields[0])));
    double rate = 0.0;
    const auto [end, ec] = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), rate);
    if (ec != std::errc() || end != fields[1].data() + fields[1].size() || !std::isfinite(rate) || rate <= 0.0)
      throw CsvError(fmt::format("{}: column 'rate_to_usd': '{}' is not a positive number", where, printable(fields[1])));
    if (!rates_.emplace(code, rate).second)
      throw CsvError(fmt::format("{}: currency '{}' is listed twice", where, currency_name(code)));
  }
  if (rates_.empty()) throw CsvError(fmt::format("{}: no rates after the header", file_));
}

std::optional<double> CurrencyRates::rate(std::uint64_t code) const {
  const auto it = rates_.find(code);
  return it == rates_.end() ? std::nullopt : std::optional<double>(it->second);
}

void convert_price(const CurrencyRates& rates, int currency_column, const std::vector<std::string_view>& header, ParsedRow& row, RowCheck& check) {
  const std::optional<double> rate = rates.rate(row.currency);
  if (!rate) {
    check = {RowProblem::bad,
             fmt::format("column '{}': currency '{}' has no rate in {}", printable(header[static_cast<std::size_t>(currency_column)]),
                         currency_name(row.currency), rates.file()),
             "currency without a rate", currency_column};
    return;
  }
  row.price *= *rate;
}

}  // namespace meterbench::usage_csv

namespace meterbench::usage_csv {

namespace {

// "customer 'c', meter 'm'" from a series key.
std::string series_name(std::string_view key) {
  const std::size_t sep = key.find('\x1f');
  return fmt::format("customer '{}', meter '{}'", printable(key.substr(0, sep)), printable(key.substr(sep + 1)));
}

}  // namespace

std::string dataset_currency(bool tracked, const SeriesKeyTable& series, const std::function<std::string(std::int64_t)>& where) {
  return tracked ? single_currency(series, where) : std::string(kDefaultCurrency);
}

std::string single_currency(const SeriesKeyTable& series, const std::function<std::string(std::int64_t)>& where) {
  // Of the series mixing currencies, the one whose first row in its second currency comes first in the file.
  using Seen = SeriesKeyTable::Attributes::CurrencySeen;
  const SeriesKeyTable::Entry* mixed = nullptr;
  std::vector<Seen> mixed_seen;
  const SeriesKeyTable::Entry* first_series = nullptr;  // the series whose first row comes first in the file
  const auto currency = [&](const SeriesKeyTable::Entry& e) { return series.attributes(e).currency; };
  for (const SeriesKeyTable::Entry& e : series.entries()) {
    const SeriesKeyTable::Attributes& attributes = series.attributes(e);
    if (!attributes.other_currencies.empty()) {
      // The series' currency is that of its first row; the conflict is the first row in another currency.
      std::vector<Seen> seen{attributes.currency};
      seen.insert(seen.end(), attributes.other_currencies.begin(), attributes.other_currencies.end());
      std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.first_offset < b.first_offset; });
      if (mixed == nullptr || seen[1].first_offset < mixed_seen[1].first_offset) {
        mixed = &e;
        mixed_seen = std::move(seen);
      }
    }
    if (first_series == nullptr || attributes.currency.first_offset < currency(*first_series).first_offset) first_series = &e;
  }
  if (mixed != nullptr)
    throw CsvError(fmt::format("{}: {} mixes currencies: {} from {} on, then {}; a dataset has one currency (--rates FILE converts them to USD)",
                               where(mixed_seen[1].first_offset), series_name(series.key(*mixed)), currency_name(mixed_seen[0].code),
                               where(mixed_seen[0].first_offset), currency_name(mixed_seen[1].code)));
  if (first_series == nullptr) return std::string(kDefaultCurrency);
  const SeriesKeyTable::Entry* other = nullptr;  // the first series in another currency
  for (const SeriesKeyTable::Entry& e : series.entries())
    if (currency(e).code != currency(*first_series).code && (other == nullptr || currency(e).first_offset < currency(*other).first_offset)) other = &e;
  if (other != nullptr)
    throw CsvError(fmt::format("{}: {} is in {}, but {} is in {} (from {}); a dataset has one currency (--rates FILE converts them to USD)",
                               where(currency(*other).first_offset), series_name(series.key(*other)), currency_name(currency(*other).code),
                               series_name(series.key(*first_series)), currency_name(currency(*first_series).code),
                               where(currency(*first_series).first_offset)));
  return currency_name(currency(*first_series).code);
}

}  // namespace meterbench::usage_csv
