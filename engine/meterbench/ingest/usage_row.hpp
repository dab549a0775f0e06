#pragma once
// The rows of a usage export, one at a time: which header column holds each field (with --map renames),
// and the checks every data row passes before it reaches the dataset. Internal to ingest: every problem
// becomes a message naming the column and value, to which the caller adds the file and line.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/io/dataset.hpp"

namespace meterbench::usage_csv {

enum Field { kCustomer, kMeter, kDate, kQuantity, kPrice, kFieldCount };

/// Joins the columns of a composite id (--map customer=CustomerName+SubscriptionId). A column value holding
/// it is refused, so two different rows never join to the same id.
inline constexpr char kIdJoiner = '|';

/// Field -> 0-based column in the header; -1 for an absent optional column (price).
struct Columns {
  int index[kFieldCount] = {-1, -1, -1, -1, -1};
  /// The customer and meter ids may join several columns: their columns in order, empty for a single column.
  std::vector<int> id_parts[2];
  std::string id_names[2];  ///< "CustomerName+SubscriptionId" for messages; empty for a single column
  std::vector<int> keep;    ///< the kept dimension columns (--keep), in order
  int currency = -1;        ///< the currency column (--currency), -1 when none
  bool month_dates = false; ///< ISO dates may be a month (YYYY-MM, its first day): on a monthly grid
};

/// Resolves the fields' columns from the header and the "field=column" renames. Throws std::invalid_argument
/// for a malformed or repeated rename, CsvError naming `file` and the header's columns for a required
/// or renamed column that is absent, and for a used column that the header holds more than once.
Columns resolve_columns(const std::string& file, const std::vector<std::string_view>& header, const std::vector<std::string>& column_map);

/// One data row, checked. Views point into the scanner's fields, or into joined_ids for composite ids.
struct ParsedRow {
  std::string_view customer, meter;
  std::string joined_ids[2];  ///< storage of composite ids, reused from row to row
  std::int64_t time = 0;
  double quantity = 0.0;  ///< finite, >= 0 (never -0), and within float's range
  double price = std::numeric_limits<double>::quiet_NaN();
  std::string dimensions;       ///< the kept dimension cells, encoded (see encode_dimensions)
  std::uint64_t currency = 0;   ///< the currency code's bytes (see currency_code); 0 without --currency
};

/// What is wrong with a row: nothing, or a problem --skip-bad skips (every row problem is).
enum class RowProblem { none, bad };
struct RowCheck {
  RowProblem problem = RowProblem::none;
  std::string message;  ///< names the column and value, e.g. "column 'quantity': '-4' is a negative quantity"
  const char* reason = "";  ///< the problem in a few words, e.g. "negative quantity" (counted, listed in the rejects)
  int column = -1;          ///< the header column refused, -1 for the row as a whole
};

class DateFormat;

/// Parses and checks one record against the header; the ids are only split out (see ids_problem). Dates are
/// ISO (parse_utc_timestamp) when `date_format` is null.
RowCheck parse_row(const std::vector<std::string_view>& fields, const Columns& columns, const std::vector<std::string_view>& header,
                   const DateFormat* date_format, ParsedRow& row);

/// What is wrong with a customer or meter id ("the id ..."), or "" when nothing: the one place ids are checked.
/// Ids have any length, but control characters (line breaks, tabs, the key separator 0x1F, NUL) would break
/// the alert CSV or make two series' keys equal.
std::string id_problem(std::string_view id);

/// True when id_problem(id) is "": the check every row runs, written to vectorise (no early exit).
inline bool is_plain_id(std::string_view id) {
  bool control = false;
  for (const char c : id) control |= static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
  return !control && !id.empty();
}

/// What is wrong with the row's ids, naming the column ("column 'customer': the id ..."), or "". Ingest checks
/// a series key once, when a thread first meets it (keys in its table are known to be valid), not every row.
std::string ids_problem(const ParsedRow& row, const Columns& columns, const std::vector<std::string_view>& header);

/// `text` with control bytes written as \xNN, for messages.
std::string printable(std::string_view text);

}  // namespace meterbench::usage_csv
