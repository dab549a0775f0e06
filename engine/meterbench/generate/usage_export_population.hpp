#pragma once
// The population behind the sample usage export: customers (names, subscriptions, tenants, regions, offers,
// a usage profile), their meters from a catalog of Azure-like meters, resources, and each series' daily usage
// drawn by SeriesGenerator under that profile. Internal to usage_export.cpp (and its tests).
#include <cstdint>
#include <string>
#include <vector>

#include "meterbench/core/anomaly.hpp"

namespace meterbench {

/// A meter of the catalog, as the export's meter columns name it.
struct ExportMeter {
  std::string id;  ///< MeterId, a GUID (the same for every seed)
  std::string name, category, subcategory, unit;
  double price_usd = 0.0;  ///< per unit
  std::string resource_type, resource_prefix, publisher, offer;  ///< offer: empty = the customer's
};

struct ExportCustomer {
  std::string name, subscription, tenant, location, offer;
  std::string currency = "USD";
  UsageProfile profile = UsageProfile::steady;
  bool weekday_only = false;  ///< no rows on Saturdays and Sundays
  bool grows_6x = false;      ///< usage multiplied by a ramp from 1 to 6 over the export
  [[nodiscard]] std::string id() const { return name + "|" + subscription; }  ///< as ingest joins Name+Subscription
};

struct ExportResource {
  std::string id;    ///< ResourceId
  std::string tags;  ///< Tags: a JSON object, or empty
  double share = 1.0;  ///< of the series' daily quantity
};

struct ExportSeries {
  std::int32_t customer = 0;
  std::int32_t meter = 0;
  std::int64_t first_day = 0;  ///< subscriptions that start during the export have no earlier rows
  std::vector<ExportResource> resources;
  std::vector<double> usage;   ///< daily quantity, before incidents
  double usual_daily_cost = 0.0;  ///< USD: median daily quantity x price
  double relative_noise = 0.0;    ///< the noise scale at the start over the usual daily quantity
};

struct ExportPopulation {
  std::int64_t days = 0;
  std::int64_t first_day = 0;  ///< days since 1970-01-01 of the first day
  std::vector<ExportMeter> meters;
  std::vector<ExportCustomer> customers;
  std::vector<ExportSeries> series;  ///< by customer, then meter
};

/// The export's exchange rate: EffectivePrice in EUR = USD price / kEurRateToUsd.
inline constexpr double kEurRateToUsd = 1.08;

/// Builds the population of `customers` customers over `days` days from 2025-01-01: a function of the
/// arguments alone.
ExportPopulation make_export_population(std::uint64_t seed, std::int64_t customers, std::int64_t days);

/// Day of week of day t of the population: 0 = Monday .. 6 = Sunday.
int export_day_of_week(const ExportPopulation& population, std::int64_t t);

}  // namespace meterbench
