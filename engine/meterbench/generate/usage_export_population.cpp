#include "meterbench/generate/usage_export_population.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/generate/series_generator.hpp"

namespace meterbench {

namespace {

// Independent random streams, so that e.g. adding customers leaves the earlier ones unchanged.
enum ExportStream : std::uint64_t { kCustomerStream = 11, kSeriesStream = 12, kRoleStream = 13, kCatalogStream = 14, kMeterCountStream = 15 };
constexpr std::uint64_t kCatalogSeed = 0x4D657465724361ULL;  // the catalog's ids do not depend on the seed

// How a meter's usage varies from day to day (the noise model and profile it gets).
enum class MeterNoise : std::uint8_t { hours, storage, transfer, counts };

struct MeterSpec {
  std::string_view name, category, subcategory, unit;
  double price_usd;
  double daily_min, daily_max;  // usual daily quantity at the start, log-uniform
  MeterNoise noise;
  std::string_view resource_type, resource_prefix, publisher, offer;
};

constexpr std::array<MeterSpec, 13> kCatalog = {{
    {"D4s v3", "Virtual Machines", "Dsv3 Series", "1 Hour", 0.192, 24, 960, MeterNoise::hours, "Microsoft.Compute/virtualMachines", "vm", "Microsoft", ""},
    {"E8s v5", "Virtual Machines", "Esv5 Series", "1 Hour", 0.504, 24, 480, MeterNoise::hours, "Microsoft.Compute/virtualMachines", "vm", "Microsoft", ""},
    {"B2ms", "Virtual Machines", "BS Series", "1 Hour", 0.0832, 24, 720, MeterNoise::hours, "Microsoft.Compute/virtualMachines", "vm", "Microsoft", ""},
    {"P30 LRS Disk", "Storage", "Premium SSD Managed Disks", "1/Month", 135.17, 0.0333, 1.0, MeterNoise::storage, "Microsoft.Compute/disks", "disk", "Microsoft", ""},
    {"Hot LRS Data Stored", "Storage", "Blob Storage", "1 GB/Month", 0.0184, 30, 30000, MeterNoise::storage, "Microsoft.Storage/storageAccounts", "st", "Microsoft", ""},
    {"Standard Data Transfer Out", "Bandwidth", "Rtn Preference: MGN", "1 GB", 0.087, 5, 5000, MeterNoise::transfer, "Microsoft.Compute/virtualMachines", "vm", "Microsoft", ""},
    {"P1 v3 App", "Azure App Service", "Premium v3 Plan", "1 Hour", 0.225, 24, 240, MeterNoise::hours, "Microsoft.Web/serverfarms", "asp", "Microsoft", ""},
    {"vCore", "SQL Database", "General Purpose - Compute Gen5", "1 Hour", 0.2529, 48, 960, MeterNoise::hours, "Microsoft.Sql/servers", "sql", "Microsoft", ""},
    {"100 RU/s", "Azure Cosmos DB", "RUs", "100/Hour", 0.008, 240, 48000, MeterNoise::hours, "Microsoft.DocumentDB/databaseAccounts", "cosmos", "Microsoft", ""},
    {"Pay-as-you-go Data Ingestion", "Log Analytics", "Analytics Logs", "1 GB", 2.76, 1, 200, MeterNoise::transfer, "Microsoft.OperationalInsights/workspaces", "log", "Microsoft", ""},
    {"Standard Text Records", "Cognitive Services", "Language", "1K", 1.0, 1, 60, MeterNoise::counts, "Microsoft.CognitiveServices/accounts", "lang", "Microsoft", ""},
    {"Operations", "Key Vault", "Standard", "10K", 0.03, 1, 400, MeterNoise::counts, "Microsoft.KeyVault/vaults", "kv", "Microsoft", ""},
    {"Analytics API Calls", "SaaS", "Northwind Insights", "1K Calls", 0.5, 2, 400, MeterNoise::counts, "Microsoft.SaaS/resources", "saas", "Northwind Analytics", "northwind-insights-saas"},
}};

// Names are "<company> <legal form>[ <round>]": short enough that name|subscription stays within 63 bytes.
constexpr std::array<std::string_view, 25> kCompanies = {
    "Contoso", "Fabrikam", "Northwind", "Adventure Works", "Tailspin Toys", "Wingtip Toys", "Litware", "Proseware",
    "Woodgrove Bank", "Alpine Ski House", "Blue Yonder", "Coho Winery", "Fourth Coffee", "Relecloud", "Trey Research",
    "VanArsdel", "Lucerne Press", "Margie's Travel", "Humongous Ins.", "Southridge Video", "Datum", "Wide World",
    "Lamna Healthcare", "Munson's Pickles", "Best For You"};
constexpr std::array<std::string_view, 12> kLegalForms = {"Ltd", "GmbH", "Inc.", "SA", "BV", "LLC", "AG", "Oy", "KK", "Pty", "AB", "SpA"};
constexpr std::array<std::string_view, 10> kLocations = {"westeurope", "northeurope", "eastus", "eastus2", "westus2",
                                                         "uksouth", "germanywestcentral", "southeastasia", "japaneast", "australiaeast"};
constexpr std::array<std::string_view, 3> kOffers = {"MS-AZR-0003P", "MS-AZR-0017P", "MS-AZR-0145P"};
constexpr std::array<std::string_view, 8> kWorkloads = {"web", "api", "data", "etl", "crm", "erp", "ml", "shop"};
constexpr std::array<std::string_view, 3> kEnvironments = {"prod", "test", "dev"};

std::string guid(Rng& rng) {
  const std::uint64_t a = rng.next(), b = rng.next();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF, 0x8000 | ((b >> 48) & 0x3FFF),
                     b & 0xFFFFFFFFFFFFULL);
}

std::vector<ExportMeter> make_catalog() {
  std::vector<ExportMeter> meters;
  for (std::size_t m = 0; m < kCatalog.size(); ++m) {
    const MeterSpec& s = kCatalog[m];
    Rng rng(stream_key(kCatalogSeed, m, kCatalogStream));
    meters.push_back({guid(rng), std::string(s.name), std::string(s.category), std::string(s.subcategory), std::string(s.unit), s.price_usd,
                      std::string(s.resource_type), std::string(s.resource_prefix), std::string(s.publisher), std::string(s.offer)});
  }
  return meters;
}

ExportCustomer make_customer(std::uint64_t seed, std::int64_t c) {
  Rng rng(stream_key(seed, static_cast<std::uint64_t>(c), kCustomerStream));
  ExportCustomer customer;
  const auto index = static_cast<std::size_t>(c);
  customer.name = fmt::format("{} {}", kCompanies[index % kCompanies.size()], kLegalForms[(index / kCompanies.size()) % kLegalForms.size()]);
  if (const std::size_t round = index / (kCompanies.size() * kLegalForms.size()); round > 0) customer.name += fmt::format(" {}", round + 1);
  customer.subscription = guid(rng);
  customer.tenant = guid(rng);
  customer.location = std::string(kLocations[static_cast<std::size_t>(rng.integer(0, kLocations.size() - 1))]);
  customer.offer = std::string(kOffers[static_cast<std::size_t>(rng.integer(0, kOffers.size() - 1))]);
  // Mostly steady enterprise usage; business-hours workloads, seasonal businesses and growing start-ups beside.
  const double u = rng.uniform();
  customer.profile = u < 0.55 ? UsageProfile::steady : u < 0.75 ? UsageProfile::weekly : u < 0.87 ? UsageProfile::yearly : UsageProfile::growing;
  return customer;
}

// Meters per customer: 1 to 6, about 3 on average, adjusted so the total is 3 x customers - 1 (899 for 300).
std::vector<std::int64_t> meters_per_customer(std::uint64_t seed, std::int64_t customers) {
  Rng rng(stream_key(seed, 0, kMeterCountStream));
  std::vector<std::int64_t> counts(static_cast<std::size_t>(customers));
  std::int64_t total = 0;
  for (auto& n : counts) total += n = rng.integer(1, 5);
  const std::int64_t target = 3 * customers - 1;
  while (total != target) {
    auto& n = counts[static_cast<std::size_t>(rng.integer(0, customers - 1))];
    if (total > target && n > 1) --n, --total;
    else if (total < target && n < 6) ++n, ++total;
  }
  return counts;
}

Scenario series_scenario(const MeterSpec& spec, UsageProfile profile, const TimeGrid& grid, std::int64_t days) {
  Scenario s;
  s.source = "sample usage export";
  s.series = 1;
  s.days = days;
  s.grid = grid;
  s.profile_weights[static_cast<std::size_t>(profile)] = 1.0;
  s.level = {spec.daily_min, spec.daily_max};
  const auto noise = [&](NoiseModel model) { s.noise_weights[static_cast<std::size_t>(model)] = 1.0; };
  switch (spec.noise) {
    case MeterNoise::hours: noise(NoiseModel::gaussian); s.gaussian_cv = {0.01, 0.06}; break;
    case MeterNoise::storage: noise(NoiseModel::gaussian); s.gaussian_cv = {0.003, 0.02}; break;
    case MeterNoise::transfer: noise(NoiseModel::lognormal); s.lognormal_sigma = {0.08, 0.25}; break;
    case MeterNoise::counts: noise(NoiseModel::poisson); noise(NoiseModel::negative_binomial); s.nb_dispersion = {10, 60}; break;
  }
  return s;
}

ExportResource make_resource(const ExportCustomer& customer, const MeterSpec& spec, Rng& rng) {
  const std::string_view workload = kWorkloads[static_cast<std::size_t>(rng.integer(0, kWorkloads.size() - 1))];
  const std::string_view env = kEnvironments[static_cast<std::size_t>(rng.integer(0, kEnvironments.size() - 1))];
  ExportResource r;
  r.id = fmt::format("/subscriptions/{}/resourceGroups/rg-{}-{}-{}/providers/{}/{}-{}-{}{:02d}", customer.subscription, workload, env,
                     customer.location, spec.resource_type, spec.resource_prefix, workload, env, rng.integer(1, 40));
  const double t = rng.uniform();
  if (t < 0.35) return r;  // untagged
  r.tags = fmt::format(R"({{"env": "{}", "costCenter": "CC-{:04d}", "app": "{}"}})", env, rng.integer(1000, 9999), workload);
  if (t > 0.8) r.tags.insert(r.tags.size() - 1, fmt::format(R"(, "owner": "ops, {} team", "note": "the \"{}\" cluster")", workload, env));
  return r;
}

// The median of the series' usage on days it has usage.
double median_usage(const std::vector<double>& usage, std::int64_t first_day) {
  std::vector<double> v(usage.begin() + first_day, usage.end());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Draws the series' daily usage: the generator's profile, times the 6x ramp for the growing customer. Returns
// the noise scale at the start.
double draw_usage(ExportSeries& series, const ExportCustomer& customer, const MeterSpec& spec, const TimeGrid& grid, std::int64_t days,
                std::uint64_t seed, std::int64_t index, GeneratorWorkspace& workspace) {
  // Stored data only grows; the other meters follow their customer's profile.
  const UsageProfile profile = spec.noise == MeterNoise::storage && customer.profile == UsageProfile::steady ? UsageProfile::growing : customer.profile;
  const SeriesGenerator generator(series_scenario(spec, profile, grid, days), stream_key(seed, 0, kSeriesStream));
  std::vector<float> values(static_cast<std::size_t>(days));
  SeriesRecord record;
  std::vector<EventRecord> events;
  generator.generate(index, workspace, values, {}, record, events);
  series.usage.assign(values.begin(), values.end());
  if (customer.grows_6x) {
    const double per_day = pmath::log(6.0) / static_cast<double>(std::max<std::int64_t>(days - 1, 1));
    for (std::size_t t = 0; t < series.usage.size(); ++t) series.usage[t] *= pmath::exp(per_day * static_cast<double>(t));
  }
  return record.noise_scale;
}

}  // namespace

int export_day_of_week(const ExportPopulation& population, std::int64_t t) {
  return static_cast<int>(((population.first_day + t) % 7 + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

ExportPopulation make_export_population(std::uint64_t seed, std::int64_t customers, std::int64_t days) {
  ExportPopulation p;
  p.days = days;
  p.first_day = days_from_civil({2025, 1, 1});
  p.meters = make_catalog();
  for (std::int64_t c = 0; c < customers; ++c) p.customers.push_back(make_customer(seed, c));
  // Three customers with a role: distinct, drawn from the seed.
  Rng roles(stream_key(seed, 0, kRoleStream));
  std::vector<std::int64_t> picked;
  const auto pick_customer = [&] {
    std::int64_t c = 0;
    do c = roles.integer(0, customers - 1);
    while (std::find(picked.begin(), picked.end(), c) != picked.end());
    picked.push_back(c);
    return static_cast<std::size_t>(c);
  };
  ExportCustomer& weekday = p.customers[pick_customer()];
  weekday.weekday_only = true;
  weekday.profile = UsageProfile::weekly;
  ExportCustomer& growing = p.customers[pick_customer()];
  growing.grows_6x = true;
  growing.profile = UsageProfile::steady;
  p.customers[pick_customer()].currency = "EUR";

  const TimeGrid grid{.start_unix_seconds = p.first_day * kSecondsPerDay, .step_seconds = kSecondsPerDay, .steps = days};
  const std::vector<std::int64_t> counts = meters_per_customer(seed, customers);
  GeneratorWorkspace workspace;
  for (std::int64_t c = 0; c < customers; ++c) {
    const ExportCustomer& customer = p.customers[static_cast<std::size_t>(c)];
    Rng rng(stream_key(seed, static_cast<std::uint64_t>(c), kSeriesStream));
    std::vector<std::int32_t> meters(kCatalog.size());
    for (std::size_t m = 0; m < meters.size(); ++m) meters[m] = static_cast<std::int32_t>(m);
    for (std::size_t m = 0; m < meters.size(); ++m) std::swap(meters[m], meters[static_cast<std::size_t>(rng.integer(static_cast<std::int64_t>(m), static_cast<std::int64_t>(meters.size()) - 1))]);
    meters.resize(static_cast<std::size_t>(counts[static_cast<std::size_t>(c)]));
    std::sort(meters.begin(), meters.end());
    for (const std::int32_t m : meters) {
      const MeterSpec& spec = kCatalog[static_cast<std::size_t>(m)];
      ExportSeries& s = p.series.emplace_back();
      s.customer = static_cast<std::int32_t>(c);
      s.meter = m;
      // Some subscriptions start using a meter during the export (not the customers with a role).
      if (!customer.weekday_only && !customer.grows_6x && rng.bernoulli(0.08)) s.first_day = rng.integer(30, std::max<std::int64_t>(31, days - 60));
      s.resources.push_back(make_resource(customer, spec, rng));
      if (rng.bernoulli(0.01)) {  // two resources share the meter: two rows a day
        s.resources.push_back(make_resource(customer, spec, rng));
        s.resources[0].share = rng.uniform(0.3, 0.7);
        s.resources[1].share = 1.0 - s.resources[0].share;
      }
      const double noise = draw_usage(s, customer, spec, grid, days, seed, static_cast<std::int64_t>(p.series.size()), workspace);
      const double usual = median_usage(s.usage, s.first_day);
      s.usual_daily_cost = usual * spec.price_usd;
      s.relative_noise = usual > 0.0 ? noise / usual : 1.0;
    }
  }
  return p;
}

}  // namespace meterbench
