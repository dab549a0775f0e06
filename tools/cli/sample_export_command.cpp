#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "meterbench/core/anomaly.hpp"
#include "meterbench/generate/usage_export.hpp"

namespace meterbench::cli {
namespace {

struct SampleExportCommand {
  meterbench::UsageExportOptions options;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("sample-export", "Write a realistic Azure-style daily usage export (CSV) with seven planted billing incidents and their labels");
    add_output_options(*cmd, options.out, options.overwrite, "CSV file (.csv, or .csv.gz with --gzip), or a directory with --daily-files");
    cmd->add_option("--labels", options.labels, "Labels file of the planted incidents (default: OUT.labels.csv)");
    cmd->add_option("--seed", options.seed, "Random seed")->transform(integer_in<std::uint64_t>())->capture_default_str();
    cmd->add_option("--days", options.days, "Days from 2025-01-01")
        ->transform(integer_in<std::int64_t>(meterbench::kUsageExportMinDays, meterbench::kUsageExportMaxDays))
        ->capture_default_str();
    cmd->add_option("--customers", options.customers, "Customers (about 3 meters each)")
        ->transform(integer_in<std::int64_t>(meterbench::kUsageExportMinCustomers, meterbench::kUsageExportMaxCustomers))
        ->capture_default_str();
    cmd->add_flag("--daily-files", options.daily_files, "Write a directory of one file per day (usage-YYYY-MM-DD.csv)");
    cmd->add_flag("--gzip", options.gzip, "Compress the file(s) with gzip (.gz)");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions&) {
    const meterbench::UsageExportSummary s = meterbench::write_usage_export(options);
    std::printf("wrote %s: %lld rows, %lld customers, %lld series, %s to %s, %lld file%s, %.1f MB\n", options.out.c_str(),
                static_cast<long long>(s.rows), static_cast<long long>(s.customers), static_cast<long long>(s.series), s.first_date.c_str(),
                s.last_date.c_str(), static_cast<long long>(s.files), s.files == 1 ? "" : "s", static_cast<double>(s.bytes) / 1e6);
    std::printf("  planted incidents (labels in %s):\n", s.labels.c_str());
    for (const meterbench::PlantedIncident& in : s.incidents)
      std::printf("    %s..%s  %-17s %s / %s: %s\n", in.start_date.c_str(), in.end_date.c_str(), std::string(meterbench::to_string(in.kind)).c_str(),
                  in.customer.c_str(), in.meter.c_str(), in.description.c_str());
    std::printf("  weekday-only customer: %s\n  customer growing 6x: %s\n  customer billed in EUR: %s\n", s.weekday_only_customer.c_str(),
                s.growing_customer.c_str(), s.eur_customer.c_str());
  }
};

}  // namespace

void add_sample_export_command(CLI::App& app, CommonOptions& common) { register_command<SampleExportCommand>(app, common); }

}  // namespace meterbench::cli
