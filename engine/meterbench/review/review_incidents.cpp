#include "meterbench/review/review_incidents.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <utility>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/io/csv.hpp"

namespace meterbench {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kRequiredColumns[] = {"customer", "meter", "kind", "start", "end", "direction", "impact"};

// `where` names the file and row in errors: "incidents.csv line 12" or "incidents.json incident 3".
double number_field(std::string_view text, const std::string& where, const char* column, bool empty_is_unknown) {
  if (text.empty() && empty_is_unknown) return kUnknown;
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    throw IncidentFileError(fmt::format("{}: column '{}' is '{}', not a number", where, column, text));
  return value;
}

std::int64_t time_field(const std::string& text, const std::string& where, const char* column) {
  try {
    return parse_utc_timestamp(text);
  } catch (const std::invalid_argument&) {
    throw IncidentFileError(fmt::format("{}: column '{}' is '{}', not a UTC date or time", where, column, text));
  }
}

// Fills what every row needs once the text fields are set; checks the values detect writes.
void finish_row(ReviewIncident& row, const std::string& where) {
  if (row.customer.empty() || row.meter.empty()) throw IncidentFileError(fmt::format("{}: the customer and meter must not be empty", where));
  if (row.direction != "over" && row.direction != "under")
    throw IncidentFileError(fmt::format("{}: column 'direction' is '{}', expected over or under", where, row.direction));
  row.start_seconds = time_field(row.start, where, "start");
  row.end_seconds = time_field(row.end, where, "end");
  if (row.end_seconds < row.start_seconds) throw IncidentFileError(fmt::format("{}: 'end' {} is before 'start' {}", where, row.end, row.start));
  if (row.first_reported.empty()) row.first_reported = row.start;
  row.first_reported_seconds = time_field(row.first_reported, where, "first_reported");
  if (row.currency.empty()) row.currency = "USD";
}

std::vector<ReviewIncident> read_csv_incidents(const std::filesystem::path& path) {
  const MappedFile file(path);
  CsvScanner scanner(file.text(), path.string());
  std::vector<std::string_view> fields;
  if (!scanner.next(fields)) throw IncidentFileError(fmt::format("{}: empty file (expected the header line of `meterbench detect`)", path.string()));
  const std::size_t header_fields = fields.size();
  std::map<std::string, std::size_t, std::less<>> column;  // a name given twice: its first column is read
  for (std::size_t i = 0; i < fields.size(); ++i) column.emplace(std::string(fields[i]), i);
  for (const char* name : kRequiredColumns)
    if (!column.contains(name)) throw IncidentFileError(fmt::format("{} line 1: no '{}' column (is this a `meterbench detect` file?)", path.string(), name));
  const auto at = [&](const char* name) { return column.contains(name) ? column.find(name)->second : std::string::npos; };
  const std::size_t customer = at("customer"), meter = at("meter"), offer = at("offer"), kind = at("kind"), start = at("start"), end = at("end"),
                    days = at("days"), direction = at("direction"), observed = at("observed_total"), expected = at("expected_total"),
                    impact = at("impact"), currency = at("currency"), peak = at("peak_score"), first_reported = at("first_reported");
  std::vector<ReviewIncident> rows;
  rows.reserve(file.text().size() / 96);  // detect's rows are about 100 bytes: no regrowth for typical files
  while (scanner.next(fields)) {
    const std::string where = fmt::format("{} line {}", path.string(), scanner.line());
    if (fields.size() != header_fields)
      throw IncidentFileError(fmt::format("{}: {} fields, the header has {}", where, fields.size(), header_fields));
    const auto text = [&](std::size_t i) { return i == std::string::npos ? std::string() : std::string(fields[i]); };
    const auto number = [&](std::size_t i, const char* name) { return i == std::string::npos ? 0.0 : number_field(fields[i], where, name, false); };
    ReviewIncident& row = rows.emplace_back();
    row.customer = text(customer);
    row.meter = text(meter);
    row.offer = text(offer);
    row.kind = text(kind);
    row.start = text(start);
    row.end = text(end);
    row.direction = text(direction);
    row.first_reported = text(first_reported);
    row.currency = text(currency);
    row.days = number(days, "days");
    row.observed_total = number(observed, "observed_total");
    row.expected_total = number(expected, "expected_total");
    row.impact = number_field(fields[impact], where, "impact", true);
    row.peak_score = number(peak, "peak_score");
    finish_row(row, where);
  }
  return rows;
}

// The fields review reads from a JSON incident: the text fields first, in IncidentJsonReader::value's order.
constexpr std::array<std::string_view, 14> kJsonFields = {"customer", "meter",  "offer",          "kind",           "start",
                                                         "end",      "direction", "first_reported", "currency",      "days",
                                                         "observed_total", "expected_total", "impact", "peak_score"};

// detect's JSON read as a stream of events (nlohmann's SAX interface) straight into rows: a DOM of 100k incidents
// would cost several times the CSV's time to build. Depth 1 is the document, 2 its "incidents" array, 3 one incident.
class IncidentJsonReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  IncidentJsonReader(const std::filesystem::path& path, std::vector<ReviewIncident>& rows) : path_(path.string()), rows_(rows) {}
  [[nodiscard]] bool found_incidents() const { return found_; }

  bool null() override { return value(nullptr, nullptr); }
  bool boolean(bool) override { return value(nullptr, nullptr, "a boolean"); }
  bool number_integer(number_integer_t v) override { const auto d = static_cast<double>(v); return value(nullptr, &d); }
  bool number_unsigned(number_unsigned_t v) override { const auto d = static_cast<double>(v); return value(nullptr, &d); }
  bool number_float(number_float_t v, const string_t&) override { return value(nullptr, &v); }
  bool string(string_t& v) override { return value(&v, nullptr); }
  bool binary(binary_t&) override { return value(nullptr, nullptr, "binary"); }
  bool key(string_t& name) override {
    if (depth_ == 1) next_is_incidents_ = name == "incidents";
    if (depth_ == 3 && in_array_) {
      key_ = name;
      field_ = static_cast<int>(std::find(kJsonFields.begin(), kJsonFields.end(), name) - kJsonFields.begin());
    }
    return true;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0) root_is_object_ = true;
    if (in_array_ && depth_ == 2) begin_item();
    else if (in_item() && depth_ == 3) value(nullptr, nullptr, "an object");
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    if (in_array_ && depth_ == 2) end_item();
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1 && next_is_incidents_ && root_is_object_) in_array_ = found_ = true;
    else if (in_array_ && depth_ == 2) not_an_object();
    else if (in_item() && depth_ == 3) value(nullptr, nullptr, "an array");
    ++depth_;
    return true;
  }
  bool end_array() override {
    if (--depth_ == 1) in_array_ = false;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw IncidentFileError(fmt::format("{}: not valid JSON ({})", path_, e.what()));
  }

 private:
  [[nodiscard]] bool in_item() const { return in_array_ && depth_ == 3; }
  [[nodiscard]] std::string where() const { return fmt::format("{} incident {}", path_, count_); }
  void not_an_object() {
    ++count_;
    throw IncidentFileError(fmt::format("{}: not an object", where()));
  }
  void begin_item() {
    ++count_;
    row_ = ReviewIncident{};
    row_.impact = kUnknown;  // null or absent: no price
    seen_ = 0;
  }
  void end_item() {
    for (const char* name : kRequiredColumns) {
      const auto bit = std::find(kJsonFields.begin(), kJsonFields.end(), name) - kJsonFields.begin();
      if ((seen_ >> bit & 1U) == 0) throw IncidentFileError(fmt::format("{}: no '{}' field", where(), name));
    }
    finish_row(row_, where());
    rows_.push_back(std::move(row_));
  }
  // One value of the incident at depth 3 (others are skipped): a string, a number, or null (text or number null).
  bool value(const std::string* text, const double* number, const char* other = nullptr) {
    if (in_array_ && depth_ == 2 && !in_item()) not_an_object();
    if (!in_item()) return true;
    if (field_ >= static_cast<int>(kJsonFields.size())) return true;  // a field review does not use
    seen_ |= 1U << field_;
    std::string* const texts[] = {&row_.customer, &row_.meter, &row_.offer, &row_.kind, &row_.start, &row_.end, &row_.direction,
                                  &row_.first_reported, &row_.currency};
    double* const amounts[] = {&row_.days, &row_.observed_total, &row_.expected_total, &row_.impact, &row_.peak_score};
    constexpr int kTexts = static_cast<int>(std::size(texts));
    std::string* const field = field_ < kTexts ? texts[field_] : nullptr;
    double* const amount = field_ >= kTexts ? amounts[field_ - kTexts] : nullptr;
    const bool is_null = text == nullptr && number == nullptr && other == nullptr;
    if (field != nullptr && !is_null) {
      if (text == nullptr) throw IncidentFileError(fmt::format("{}: '{}' is not a string", where(), key_));
      *field = *text;
    }
    if (amount != nullptr && !is_null) {
      if (number == nullptr) throw IncidentFileError(fmt::format("{}: '{}' is not a number", where(), key_));
      *amount = *number;
    }
    return true;
  }

  std::string path_;
  std::vector<ReviewIncident>& rows_;
  int depth_ = 0;
  bool root_is_object_ = false, next_is_incidents_ = false, in_array_ = false, found_ = false;
  std::int64_t count_ = 0;
  std::string key_;
  int field_ = 0;           // key_'s index in kJsonFields (its size: not one review reads)
  std::uint32_t seen_ = 0;  // bit i: field i was given
  ReviewIncident row_;
};

std::vector<ReviewIncident> read_json_incidents(const std::filesystem::path& path) {
  const MappedFile file(path);
  std::vector<ReviewIncident> rows;
  rows.reserve(file.text().size() / 300);  // detect's JSON incidents are about 380 bytes
  IncidentJsonReader reader(path, rows);
  nlohmann::json::sax_parse(file.text().begin(), file.text().end(), &reader);
  if (!reader.found_incidents())
    throw IncidentFileError(fmt::format("{}: no 'incidents' array (is this a `meterbench detect --format json` file?)", path.string()));
  return rows;
}

bool starts_with_brace(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IncidentFileError(fmt::format("{}: cannot open the incidents file", path.string()));
  char c = 0;
  while (in.get(c))
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c == '{';
  return false;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive substring test; `needle` is already lower case.
bool contains_lower(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(haystack[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

std::string to_lower(std::string text) {
  for (char& c : text) c = lower(c);
  return text;
}

}  // namespace

std::vector<ReviewIncident> read_review_incidents(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IncidentFileError(fmt::format("{}: no such incidents file", path.string()));
  std::vector<ReviewIncident> rows;
  try {
    rows = starts_with_brace(path) ? read_json_incidents(path) : read_csv_incidents(path);
  } catch (const CsvError& e) {
    throw IncidentFileError(e.what());
  }
  // Sorted through an index (the rows are large; detect's files are already in this order, so this is cheap).
  std::vector<std::size_t> order(rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&rows](std::size_t i, std::size_t j) {
    const ReviewIncident &a = rows[i], &b = rows[j];
    const bool a_known = std::isfinite(a.impact), b_known = std::isfinite(b.impact);
    if (a_known != b_known) return a_known;
    if (a_known) return std::fabs(a.impact) > std::fabs(b.impact);
    return a.peak_score > b.peak_score;
  });
  std::vector<ReviewIncident> sorted;
  sorted.reserve(rows.size());
  for (const std::size_t i : order) sorted.push_back(std::move(rows[i]));
  rows = std::move(sorted);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].id = static_cast<std::int64_t>(i);
  return rows;
}

std::optional<std::string> invalid_query_reason(const IncidentQuery& query) {
  if (!(query.min_abs_impact >= 0.0) || !std::isfinite(query.min_abs_impact)) return fmt::format("min_impact must be a number >= 0, got {}", query.min_abs_impact);
  if (query.last_days < 0) return fmt::format("days must be >= 0, got {}", query.last_days);
  if (query.page < 0) return fmt::format("page must be >= 0, got {}", query.page);
  if (query.page_size < 1 || query.page_size > 1000) return fmt::format("page_size must be in [1, 1000], got {}", query.page_size);
  if (!query.direction.empty() && query.direction != "over" && query.direction != "under")
    return fmt::format("direction must be over or under, got '{}'", query.direction);
  return std::nullopt;
}

IncidentPage query_incidents(const std::vector<ReviewIncident>& incidents, const IncidentQuery& query) {
  const std::string offer = to_lower(query.offer), meter = to_lower(query.meter), customer = to_lower(query.customer);
  const std::int64_t first_end = query.last_days > 0 ? query.as_of_seconds - query.last_days * kSecondsPerDay : std::numeric_limits<std::int64_t>::min();
  const std::int64_t skip = query.page * query.page_size;
  IncidentPage page;
  for (const ReviewIncident& f : incidents) {
    if (query.min_abs_impact > 0.0 && !(std::fabs(f.impact) > query.min_abs_impact)) continue;
    if (f.end_seconds < first_end) continue;
    if (!query.kind.empty() && f.kind != query.kind) continue;
    if (!query.direction.empty() && f.direction != query.direction) continue;
    if (!contains_lower(f.customer, customer) || !contains_lower(f.meter, meter) || !contains_lower(f.offer, offer)) continue;
    if (page.total >= skip && page.total < skip + query.page_size) page.rows.push_back(&f);
    ++page.total;
  }
  return page;
}

std::vector<const ReviewIncident*> incidents_of_series(const std::vector<ReviewIncident>& incidents, const std::string& customer,
                                                       const std::string& meter) {
  std::vector<const ReviewIncident*> rows;
  for (const ReviewIncident& f : incidents)
    if (f.customer == customer && f.meter == meter) rows.push_back(&f);
  std::sort(rows.begin(), rows.end(), [](const ReviewIncident* a, const ReviewIncident* b) { return a->start_seconds < b->start_seconds; });
  return rows;
}

}  // namespace meterbench
