#include "meterbench/ingest/usage_row.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/ingest/date_format.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/ingest/series_attributes.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench::usage_csv {

namespace {

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; }

// The column names of the fields: the documented defaults with the renames applied; `renamed` marks a field
// that --map names, whose column must then exist even when the field is optional.
void apply_renames(const std::vector<std::string>& column_map, std::string (&names)[kFieldCount], bool (&renamed)[kFieldCount]) {
  for (int f = 0; f < kFieldCount; ++f) names[f] = kUsageFields[f];
  for (const std::string& m : column_map) {
    const auto eq = m.find('=');
    const std::string field = m.substr(0, eq);
    int f = 0;
    while (f < kFieldCount && field != kUsageFields[f]) ++f;
    if (eq == std::string::npos || f == kFieldCount || eq + 1 == m.size())
      throw std::invalid_argument(fmt::format("--map '{}': expected field=column with field one of {}", m, fmt::join(kUsageFields, ", ")));
    if (renamed[f]) throw std::invalid_argument(fmt::format("--map '{}': {} is renamed twice (to '{}' first)", m, field, names[f]));
    names[f] = m.substr(eq + 1);
    renamed[f] = true;
  }
}

}  // namespace

namespace {

// A customer or meter name that is no header column but joins existing ones with '+' (CustomerName+SubscriptionId)
// becomes a composite id; its parts are found like single columns.
void resolve_composite_ids(const std::vector<std::string_view>& header, const std::string (&names)[kFieldCount], Columns& c,
                           std::vector<std::string>& missing) {
  for (const int f : {kCustomer, kMeter}) {
    if (c.index[f] >= 0 || names[f].find('+') == std::string::npos) continue;
    std::vector<int> parts;
    std::vector<std::string> absent;
    for (std::size_t begin = 0; begin <= names[f].size();) {
      const std::size_t end = std::min(names[f].find('+', begin), names[f].size());
      const std::string_view part = std::string_view(names[f]).substr(begin, end - begin);
      const auto found = std::find(header.begin(), header.end(), part);
      if (found == header.end()) absent.push_back(fmt::format("'{}'", printable(part)));
      else if (std::find(found + 1, header.end(), part) != header.end())
        throw CsvError(fmt::format("column '{}' (for {}) appears more than once in the header: which one to read is ambiguous", printable(part), kUsageFields[f]));
      else parts.push_back(static_cast<int>(found - header.begin()));
      begin = end + 1;
    }
    // The field was reported missing as a whole: name the parts that are absent instead, or nothing.
    const std::string whole = fmt::format("'{}' (for {}, from --map)", printable(names[f]), kUsageFields[f]);
    missing.erase(std::remove(missing.begin(), missing.end(), whole), missing.end());
    if (!absent.empty()) {
      missing.push_back(fmt::format("{} (for {}, part of --map {}={})", fmt::join(absent, ", "), kUsageFields[f], kUsageFields[f], printable(names[f])));
      continue;
    }
    c.index[f] = parts.front();
    c.id_parts[f] = std::move(parts);
    c.id_names[f] = names[f];
  }
}

// Joins the parts of a composite id into `joined`; a part holding the joiner is an error message.
std::string join_id(const std::vector<std::string_view>& fields, const std::vector<int>& parts, const std::vector<std::string_view>& header,
                    std::string& joined) {
  joined.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = fields[static_cast<std::size_t>(parts[i])];
    if (part.find(kIdJoiner) != std::string_view::npos)
      return fmt::format("column '{}': '{}' holds '{}', which joins the parts of a composite id", printable(header[static_cast<std::size_t>(parts[i])]),
                         printable(part), kIdJoiner);
    if (i > 0) joined += kIdJoiner;
    joined += part;
  }
  return {};
}

}  // namespace

Columns resolve_columns(const std::string& file, const std::vector<std::string_view>& header, const std::vector<std::string>& column_map) {
  std::string names[kFieldCount];
  bool renamed[kFieldCount] = {};
  apply_renames(column_map, names, renamed);
  Columns c;
  std::vector<std::string> missing;
  for (int f = 0; f < kFieldCount; ++f) {
    std::vector<std::size_t> found;
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == names[f]) found.push_back(i + 1);
    // A used column twice is ambiguous (which one holds the field?); unused columns may repeat, as
    // exports joined from several tables often do, since they are never read.
    if (found.size() > 1)
      throw CsvError(fmt::format("{}: column '{}' (for {}) appears {} times in the header, as columns {}: which one to read is ambiguous "
                                 "(header: {})",
                                 file, printable(names[f]), kUsageFields[f], found.size(), fmt::join(found, " and "), printable(fmt::format("{}", fmt::join(header, ",")))));
    if (!found.empty()) c.index[f] = static_cast<int>(found.front() - 1);
    else if (renamed[f] || f != kPrice)
      missing.push_back(fmt::format("'{}' (for {}{})", printable(names[f]), kUsageFields[f], renamed[f] ? ", from --map" : ""));
  }
  resolve_composite_ids(header, names, c, missing);
  if (!missing.empty())
    throw CsvError(fmt::format("{}: missing column(s) {} in the header: {} (rename with --map field=column)", file, fmt::join(missing, ", "),
                               printable(fmt::format("{}", fmt::join(header, ",")))));
  return c;
}

std::string printable(std::string_view text) {
  if (std::none_of(text.begin(), text.end(), is_control)) return std::string(text);
  std::string out;
  for (const char c : text) out += is_control(c) ? fmt::format("\\x{:02X}", static_cast<unsigned char>(c)) : std::string(1, c);
  return out;
}

std::string id_problem(std::string_view id) {
  if (id.empty()) return "the id is empty";
  const auto control = std::find_if(id.begin(), id.end(), is_control);
  if (control != id.end())
    return fmt::format("the id '{}' holds the control character \\x{:02X} at byte {}; ids must be printable text", printable(id),
                       static_cast<unsigned char>(*control), control - id.begin() + 1);
  return {};
}

std::string ids_problem(const ParsedRow& row, const Columns& c, const std::vector<std::string_view>& header) {
  for (const int f : {kCustomer, kMeter}) {
    const std::string_view id = f == kCustomer ? row.customer : row.meter;
    if (!is_plain_id(id))
      return fmt::format("column '{}': {}", printable(c.id_parts[f].empty() ? std::string(header[static_cast<std::size_t>(c.index[f])]) : c.id_names[f]),
                         id_problem(id));
  }
  return {};
}

RowCheck parse_row(const std::vector<std::string_view>& fields, const Columns& c, const std::vector<std::string_view>& header,
                   const DateFormat* date_format, ParsedRow& row) {
  const auto bad = [&](int f, const char* reason, std::string m) {
    return RowCheck{RowProblem::bad, std::move(m), reason, f < 0 ? -1 : c.index[f]};
  };
  const auto quantity = [&](const char* reason, std::string m) { return bad(kQuantity, reason, std::move(m)); };
  // Every row must have the header's shape: a row with extra fields has lost or gained a separator, so its
  // values may well sit under the wrong columns.
  if (fields.size() != header.size()) return bad(-1, "wrong number of fields", fmt::format("has {} fields, the header has {}", fields.size(), header.size()));
  const auto column = [&](int f) { return fmt::format("column '{}'", printable(header[static_cast<std::size_t>(c.index[f])])); };
  const auto field = [&](int f) { return fields[static_cast<std::size_t>(c.index[f])]; };
  row.customer = field(kCustomer);
  row.meter = field(kMeter);
  for (const int f : {kCustomer, kMeter}) {
    if (c.id_parts[f].empty()) continue;
    if (std::string problem = join_id(fields, c.id_parts[f], header, row.joined_ids[f]); !problem.empty()) return bad(f, "bad id", std::move(problem));
    (f == kCustomer ? row.customer : row.meter) = row.joined_ids[f];
  }
  if (date_format != nullptr) {
    if (!date_format->parse(field(kDate), row.time))
      return bad(kDate, "bad date", fmt::format("{}: '{}' {}", column(kDate), printable(field(kDate)), date_format->mismatch(field(kDate))));
  } else try {
    const std::string_view date = field(kDate);
    row.time = c.month_dates && date.size() == 7 && date[4] == '-' ? parse_utc_timestamp(std::string(date) + "-01") : parse_utc_timestamp(date);
  } catch (const std::invalid_argument& e) {
    return bad(kDate, "bad date", fmt::format("{}: {}", column(kDate), printable(e.what())));
  }
  const std::string_view q = field(kQuantity);
  if (q.empty()) return quantity("empty quantity", fmt::format("{} is empty", column(kQuantity)));
  const auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), row.quantity);
  if (ec == std::errc::result_out_of_range && end == q.data() + q.size()) {
    // from_chars reports underflow too: a quantity below the smallest double is a (skippable) zero-like oddity.
    const bool tiny = q.find("e-") != std::string_view::npos || q.find("E-") != std::string_view::npos;
    return tiny ? quantity("quantity too small", fmt::format("{}: '{}' is too small to represent (below 1e-308)", column(kQuantity), printable(q)))
                : quantity("quantity out of range", fmt::format("{}: '{}' is out of range (a dataset stores quantities up to {:g}, float32)",
                                                                 column(kQuantity), printable(q), std::numeric_limits<float>::max()));
  }
  if (ec != std::errc() || end != q.data() + q.size()) return quantity("non-numeric quantity", fmt::format("{}: '{}' is not a number", column(kQuantity), printable(q)));
  if (!std::isfinite(row.quantity)) return quantity("non-finite quantity", fmt::format("{}: '{}' is not a finite quantity", column(kQuantity), printable(q)));
  if (row.quantity < 0.0) return quantity("negative quantity", fmt::format("{}: '{}' is a negative quantity", column(kQuantity), printable(q)));
  // The dataset holds floats: a larger double would be stored as infinity.
  if (std::isinf(static_cast<float>(row.quantity)))
    return quantity("quantity beyond float32", fmt::format("{}: '{}' exceeds the largest quantity a dataset stores ({:g}, float32)", column(kQuantity), q,
                                std::numeric_limits<float>::max()));
  row.quantity += 0.0;  // "-0" becomes +0: no sign bit on a zero in the dataset
  row.price = std::numeric_limits<double>::quiet_NaN();
  if (c.index[kPrice] >= 0) {
    const std::string_view p = field(kPrice);
    if (!p.empty()) {
      const auto [pend, pec] = std::from_chars(p.data(), p.data() + p.size(), row.price);
      if (pec != std::errc() || pend != p.data() + p.size() || !std::isfinite(row.price) || row.price < 0.0)
        return bad(kPrice, "bad price", fmt::format("{}: '{}' is not a price (a non-negative number per unit)", column(kPrice), printable(p)));
      row.price += 0.0;
    }
  }
  if (c.currency >= 0) {
    const std::string_view code = fields[static_cast<std::size_t>(c.currency)];
    row.currency = currency_code(code);
    if (row.currency == 0)
      return RowCheck{RowProblem::bad,
                      fmt::format("column '{}': '{}' is not a currency code (1 to 8 letters, e.g. USD)", printable(header[static_cast<std::size_t>(c.currency)]),
                                  printable(code)),
                      code.empty() ? "empty currency" : "bad currency", c.currency};
  }
  if (!c.keep.empty()) encode_dimensions(fields, c.keep, row.dimensions);
  return {};
}

}  // namespace meterbench::usage_csv
