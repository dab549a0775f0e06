#include "meterbench/generate/usage_export.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/generate/usage_export_population.hpp"
#include "meterbench/io/alert_csv.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {

namespace fs = std::filesystem;

enum IncidentStream : std::uint64_t { kIncidentStream = 21, kShuffleStream = 22 };

constexpr std::string_view kHeader =
    "Date,SubscriptionId,CustomerName,CustomerTenantId,MeterId,MeterName,MeterCategory,MeterSubCategory,UnitOfMeasure,Quantity,"
    "EffectivePrice,CostInBillingCurrency,BillingCurrency,ResourceLocation,ResourceId,Tags,OfferId,PublisherName\n";

// The seven planted incidents. Each goes on its own series, among those billing at least kIncidentMinDailyCost
// a day with steady enough usage that a careful reader of the bill would notice it too.
struct IncidentSpec {
  AnomalyKind kind;
  std::string_view description;
  std::int64_t days;
  double factor;      // what the quantity is multiplied by (unit errors, spike)
  bool on_business;   // a stuck meter shows on a series with a weekly business pattern
};
constexpr std::array<IncidentSpec, 7> kIncidents = {{
    {AnomalyKind::unit_error, "usage reported x1000 (a unit error)", 3, 1000.0, false},
    {AnomalyKind::unit_error, "usage reported /1000 (a unit error)", 7, 0.001, false},
    {AnomalyKind::stopped_reporting, "no usage reported for 2 weeks", 14, 1.0, false},
    {AnomalyKind::stuck_meter, "the meter stuck at one value for 10 days", 10, 1.0, true},
    {AnomalyKind::double_counting, "one day billed twice (every row of the day sent twice)", 1, 1.0, false},
    {AnomalyKind::spike, "usage 6x its usual level for a day", 1, 6.0, false},
    {AnomalyKind::dropped_reporting, "usage reported as zero for 5 days", 5, 0.0, false},
}};
constexpr double kIncidentMinDailyCost = 100.0;
constexpr double kIncidentMaxRelativeNoise = 0.12;
constexpr std::int64_t kIncidentMargin = 21;  // days kept free at both ends of the export

struct PlacedIncident {
  std::size_t series = 0;
  const IncidentSpec* spec = nullptr;
  std::int64_t start = 0, end = 0;
};

bool may_carry_incident(const ExportPopulation& p, const ExportSeries& s, const IncidentSpec& spec) {
  const ExportCustomer& c = p.customers[static_cast<std::size_t>(s.customer)];
  return s.first_day == 0 && !c.weekday_only && !c.grows_6x && c.currency == "USD" && s.usual_daily_cost >= kIncidentMinDailyCost &&
         s.relative_noise <= kIncidentMaxRelativeNoise && (c.profile == UsageProfile::weekly) == spec.on_business;
}

std::vector<PlacedIncident> place_incidents(const ExportPopulation& p, std::uint64_t seed) {
  Rng rng(stream_key(seed, 0, kIncidentStream));
  std::vector<std::uint8_t> used(p.series.size(), 0);
  std::vector<PlacedIncident> placed;
  for (const IncidentSpec& spec : kIncidents) {
    std::vector<std::size_t> candidates;
    for (std::size_t s = 0; s < p.series.size(); ++s)
      if (used[s] == 0 && may_carry_incident(p, p.series[s], spec)) candidates.push_back(s);
    if (candidates.empty()) {  // a small population: the most expensive free series that ran all along
      std::size_t best = p.series.size();
      for (std::size_t s = 0; s < p.series.size(); ++s)
        if (used[s] == 0 && p.series[s].first_day == 0 && (best == p.series.size() || p.series[s].usual_daily_cost > p.series[best].usual_daily_cost))
          best = s;
      if (best == p.series.size()) throw std::invalid_argument("too few customers for the seven planted incidents");
      candidates.push_back(best);
    }
    PlacedIncident in{.series = candidates[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(candidates.size()) - 1))], .spec = &spec};
    used[in.series] = 1;
    // A stuck meter repeats the day before's value: a weekday, so that the weekends it covers stand out.
    do in.start = rng.integer(kIncidentMargin, p.days - spec.days - kIncidentMargin);
    while (spec.on_business && export_day_of_week(p, in.start - 1) >= 5);
    in.end = in.start + spec.days - 1;
    placed.push_back(in);
  }
  std::sort(placed.begin(), placed.end(), [](const PlacedIncident& a, const PlacedIncident& b) { return a.start < b.start; });
  return placed;
}

struct ExportRow {
  std::int32_t series = 0;
  std::int32_t day = 0;
  std::int32_t resource = 0;
  double quantity = 0.0;
};

double round6(double v) { return std::round(v * 1e6) / 1e6; }

// The rows of one series: a row per resource and day with usage, as changed by the series' incident if any.
void add_series_rows(const ExportPopulation& p, std::size_t s, const PlacedIncident* incident, std::vector<ExportRow>& rows) {
  const ExportSeries& series = p.series[s];
  const ExportCustomer& customer = p.customers[static_cast<std::size_t>(series.customer)];
  for (std::int64_t t = series.first_day; t < p.days; ++t) {
    if (customer.weekday_only && export_day_of_week(p, t) >= 5) continue;
    double quantity = series.usage[static_cast<std::size_t>(t)];
    int copies = 1;
    bool zero_reported = false;
    if (incident != nullptr && t >= incident->start && t <= incident->end) {
      switch (incident->spec->kind) {
        case AnomalyKind::stopped_reporting: continue;
        case AnomalyKind::stuck_meter: quantity = series.usage[static_cast<std::size_t>(incident->start - 1)]; break;
        case AnomalyKind::double_counting: copies = 2; break;
        case AnomalyKind::dropped_reporting: quantity = 0.0, zero_reported = true; break;
        default: quantity *= incident->spec->factor; break;
      }
    }
    for (std::size_t r = 0; r < series.resources.size(); ++r) {
      const double q = round6(quantity * series.resources[r].share);
      if (q <= 0.0 && !zero_reported) continue;  // no usage, no row
      for (int copy = 0; copy < copies; ++copy)
        rows.push_back({static_cast<std::int32_t>(s), static_cast<std::int32_t>(t), static_cast<std::int32_t>(r), q});
    }
  }
}

// Writes a number as exports do: fixed point, at most six decimals, no trailing zeros.
void append_decimal(std::string& out, double v) {
  const std::size_t at = out.size();
  fmt::format_to(std::back_inserter(out), "{:.6f}", v);
  while (out.size() > at && out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
}

// The text of a row that does not depend on the day: per series, the columns between Date and Quantity, the
// price; per resource, the columns after the cost.
struct RowText {
  std::vector<std::string> identity;           // ",SubscriptionId,...,UnitOfMeasure,"
  std::vector<double> price;                   // in the billing currency
  std::vector<std::string> price_text;         // ",EffectivePrice,"
  std::vector<std::vector<std::string>> tail;  // ",BillingCurrency,...,PublisherName\n"
  std::vector<std::string> date;               // "%m/%d/%Y" per day
};

RowText make_row_text(const ExportPopulation& p) {
  RowText text;
  for (const ExportSeries& s : p.series) {
    const ExportCustomer& c = p.customers[static_cast<std::size_t>(s.customer)];
    const ExportMeter& m = p.meters[static_cast<std::size_t>(s.meter)];
    std::string& id = text.identity.emplace_back();
    for (const std::string* field : {&c.subscription, &c.name, &c.tenant, &m.id, &m.name, &m.category, &m.subcategory, &m.unit}) {
      id += ',';
      append_csv_text(id, *field);
    }
    id += ',';
    const double price = round6(c.currency == "USD" ? m.price_usd : m.price_usd / kEurRateToUsd);
    text.price.push_back(price);
    std::string& price_text = text.price_text.emplace_back(",");
    append_decimal(price_text, price);
    price_text += ',';
    auto& tails = text.tail.emplace_back();
    for (const ExportResource& r : s.resources) {
      std::string& tail = tails.emplace_back(",");
      for (const std::string* field : {&c.currency, &c.location, &r.id, &r.tags, m.offer.empty() ? &c.offer : &m.offer}) {
        append_csv_text(tail, *field);
        tail += ',';
      }
      append_csv_text(tail, m.publisher);
      tail += '\n';
    }
  }
  for (std::int64_t t = 0; t < p.days; ++t) {
    const CivilDate d = civil_from_days(p.first_day + t);
    text.date.push_back(fmt::format("{:02d}/{:02d}/{:04d}", d.month, d.day, d.year));
  }
  return text;
}

void append_row(std::string& out, const RowText& text, const ExportRow& row) {
  const auto s = static_cast<std::size_t>(row.series);
  out += text.date[static_cast<std::size_t>(row.day)];
  out += text.identity[s];
  append_decimal(out, row.quantity);
  out += text.price_text[s];
  append_decimal(out, round6(row.quantity * text.price[s]));
  out += text.tail[s][static_cast<std::size_t>(row.resource)];
}

// One export file, plain or gzip; close() throws OutputError naming the file and the reason of a failed write.
class ExportFile {
 public:
  ExportFile(const fs::path& path, bool gzip) : path_(path) {
    if (!gzip) {
      plain_.open(path);
      return;
    }
    gz_ = ::gzopen(path.c_str(), "wb6");
    if (gz_ == nullptr) throw OutputError(fmt::format("cannot write '{}': {}", path.string(), std::strerror(errno)));
    ::gzbuffer(gz_, 1 << 20);
  }
  ~ExportFile() {
    if (gz_ != nullptr) ::gzclose(gz_);
  }
  ExportFile(const ExportFile&) = delete;
  ExportFile& operator=(const ExportFile&) = delete;

  void write(std::string_view text) {
    if (gz_ == nullptr) {
      plain_.write(text.data(), static_cast<std::streamsize>(text.size()));
      return;
    }
    if (!text.empty() && ::gzwrite(gz_, text.data(), static_cast<unsigned>(text.size())) == 0) fail();
  }
  void close() {
    if (gz_ == nullptr) return plain_.close();
    const int code = ::gzclose(gz_);
    gz_ = nullptr;
    if (code != Z_OK) throw OutputError(fmt::format("cannot write '{}': {}", path_.string(), code == Z_ERRNO ? std::strerror(errno) : "zlib error"));
  }

 private:
  [[noreturn]] void fail() {
    int code = 0;
    const char* message = ::gzerror(gz_, &code);
    throw OutputError(fmt::format("cannot write '{}': {}", path_.string(), code == Z_ERRNO ? std::strerror(errno) : message));
  }
  fs::path path_;
  OutputFile plain_;
  gzFile gz_ = nullptr;
};

// Writes rows [begin, end) under the header into one file; returns its size.
std::uintmax_t write_rows(const fs::path& path, bool gzip, const RowText& text, const ExportRow* begin, const ExportRow* end) {
  ExportFile file(path, gzip);
  std::string buffer(kHeader);
  for (const ExportRow* row = begin; row != end; ++row) {
    append_row(buffer, text, *row);
    if (buffer.size() >= (std::size_t{1} << 20)) {
      file.write(buffer);
      buffer.clear();
    }
  }
  file.write(buffer);
  file.close();
  return fs::file_size(path);
}

std::string iso_date(const ExportPopulation& p, std::int64_t t) {
  const CivilDate d = civil_from_days(p.first_day + t);
  return fmt::format("{:04d}-{:02d}-{:02d}", d.year, d.month, d.day);
}

void write_labels(const fs::path& path, const std::vector<PlantedIncident>& incidents) {
  std::string text = "customer,meter,start,end,kind,description\n";
  for (const PlantedIncident& in : incidents) {
    append_csv_text(text, in.customer);
    text += fmt::format(",{},{},{},{},", in.meter, in.start_date, in.end_date, to_string(in.kind));
    append_csv_text(text, in.description);
    text += '\n';
  }
  OutputFile file(path);
  file << text;
  file.close();
}

void check_options(const UsageExportOptions& o, const fs::path& out, const fs::path& labels) {
  if (o.days < kUsageExportMinDays || o.days > kUsageExportMaxDays)
    throw std::invalid_argument(fmt::format("--days must be {} to {} (room for the seven planted incidents), got {}", kUsageExportMinDays, kUsageExportMaxDays, o.days));
  if (o.customers < kUsageExportMinCustomers || o.customers > kUsageExportMaxCustomers)
    throw std::invalid_argument(fmt::format("--customers must be {} to {}, got {}", kUsageExportMinCustomers, kUsageExportMaxCustomers, o.customers));
  const bool gz_name = out.extension() == ".gz";
  if (!o.daily_files && o.gzip != gz_name)
    throw std::invalid_argument(fmt::format("'{}': {}", out.string(),
                                            o.gzip ? "--gzip writes gzip, so the file name must end in .gz (e.g. usage.csv.gz)"
                                                   : "a name ending in .gz is read as gzip: add --gzip, or name the file .csv"));
  if (o.daily_files && labels.parent_path() == out)
    throw std::invalid_argument(fmt::format("'{}': the labels file must not be inside the folder of daily files (it would be read as usage)", labels.string()));
}

}  // namespace

UsageExportSummary write_usage_export(const UsageExportOptions& options) {
  const fs::path out = options.out.filename().empty() ? options.out.parent_path() : options.out;  // "daily/" means "daily"
  const fs::path labels_path = options.labels.empty() ? fs::path(out.string() + ".labels.csv") : options.labels;
  check_options(options, out, labels_path);
  StagedOutput staged(out, options.overwrite, options.daily_files ? OutputKind::directory : OutputKind::file);
  StagedOutput staged_labels(labels_path, options.overwrite, OutputKind::file, {out});

  const ExportPopulation p = make_export_population(options.seed, options.customers, options.days);
  const std::vector<PlacedIncident> placed = place_incidents(p, options.seed);
  std::vector<ExportRow> rows;
  for (std::size_t s = 0; s < p.series.size(); ++s) {
    const auto it = std::find_if(placed.begin(), placed.end(), [&](const PlacedIncident& in) { return in.series == s; });
    add_series_rows(p, s, it == placed.end() ? nullptr : &*it, rows);
  }
  // Exports come in no particular order; a folder holds each day's rows in its day's file.
  Rng shuffle(stream_key(options.seed, 0, kShuffleStream));
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[static_cast<std::size_t>(shuffle.integer(0, static_cast<std::int64_t>(i) - 1))]);
  if (options.daily_files) std::stable_sort(rows.begin(), rows.end(), [](const ExportRow& a, const ExportRow& b) { return a.day < b.day; });

  UsageExportSummary summary;
  const RowText text = make_row_text(p);
  if (!options.daily_files) {
    summary.bytes = write_rows(staged.temp_path(), options.gzip, text, rows.data(), rows.data() + rows.size());
    summary.files = 1;
  } else {
    fs::create_directory(staged.temp_path());
    const ExportRow* begin = rows.data();
    const ExportRow* const last = rows.data() + rows.size();
    for (std::int64_t t = 0; t < p.days; ++t) {
      const ExportRow* end = std::find_if(begin, last, [&](const ExportRow& r) { return r.day != t; });
      const fs::path file = staged.temp_path() / fmt::format("usage-{}.csv{}", iso_date(p, t), options.gzip ? ".gz" : "");
      summary.bytes += write_rows(file, options.gzip, text, begin, end);
      ++summary.files;
      begin = end;
    }
  }
  for (const PlacedIncident& in : placed) {
    const ExportSeries& s = p.series[in.series];
    summary.incidents.push_back({.customer = p.customers[static_cast<std::size_t>(s.customer)].id(),
                                 .meter = p.meters[static_cast<std::size_t>(s.meter)].id,
                                 .kind = in.spec->kind,
                                 .description = std::string(in.spec->description),
                                 .start = in.start,
                                 .end = in.end,
                                 .start_date = iso_date(p, in.start),
                                 .end_date = iso_date(p, in.end)});
  }
  write_labels(staged_labels.temp_path(), summary.incidents);
  staged.commit();
  staged_labels.commit();

  summary.rows = static_cast<std::int64_t>(rows.size());
  summary.series = static_cast<std::int64_t>(p.series.size());
  summary.customers = static_cast<std::int64_t>(p.customers.size());
  summary.days = p.days;
  summary.first_date = iso_date(p, 0);
  summary.last_date = iso_date(p, p.days - 1);
  summary.labels = labels_path;
  for (const ExportCustomer& c : p.customers) {
    if (c.weekday_only) summary.weekday_only_customer = c.id();
    if (c.grows_6x) summary.growing_customer = c.id();
    if (c.currency != "USD") summary.eur_customer = c.id();
  }
  return summary;
}

}  // namespace meterbench
