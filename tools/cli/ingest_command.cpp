#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct IngestCommand {
  meterbench::IngestOptions options;
  std::size_t memory_budget_mib = std::size_t{4} << 10;
  std::vector<std::filesystem::path> inputs;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("ingest", "Turn a usage export (long CSV: customer,meter,date,quantity[,price]) into a dataset");
    cmd->add_option("--csv", inputs,
                    "Usage export, one row per series and step, with a header (repeatable): a file, a directory (its *.csv and *.csv.gz), a glob "
                    "pattern, a .gz file or - for stdin; every input has the same header")
        ->required();
    cmd->add_option("--map", options.column_map,
                    "Column renames field=column,... (repeatable) e.g. date=UsageDate,customer=CustomerId,meter=MeterId,quantity=UsageQuantity; "
                    "customer=A+B joins columns into the id A|B")
        ->delimiter(',');
    cmd->add_option("--date-format", options.date_format,
                    "strftime-style format of the date column: %Y %m %b %d %H %M %S %% and literal characters, e.g. %m/%d/%Y (default: ISO dates)");
    cmd->add_option("--step", options.step, "Grid step: 1d or 1h")->capture_default_str();
    cmd->add_option("--labels", options.labels, "Known anomalies: CSV customer,meter,start,end[,kind][,verdict]");
    add_output_options(*cmd, options.out, options.overwrite, "HDF5 file");
    cmd->add_flag("--skip-bad", options.skip_bad,
                  "Skip (and count by reason) every bad row instead of failing: wrong field count, bad date or id, an empty, non-numeric, "
                  "negative (credit), non-finite or too large quantity, a bad price or currency; they are listed in OUT.rejects.csv");
    cmd->add_option("--keep", options.keep,
                    "Dimension columns carried into the dataset per series (values of its latest row), e.g. MeterName,UnitOfMeasure,MeterCategory")
        ->delimiter(',');
    cmd->add_option("--currency", options.currency,
                    "Currency column of the prices: a series or dataset mixing currencies is refused unless --rates converts them; the dataset "
                    "records its currency (default USD)");
    cmd->add_option("--rates", options.rates, "CSV currency,rate_to_usd: converts every price to USD (needs --currency)");
    cmd->add_option("--memory-budget-mib", memory_budget_mib,
                    "Memory for the parsed rows (16 bytes each) and the output matrix (13 bytes a cell); beyond it the file is read again per block of series")
        ->capture_default_str()
        ->transform(integer_in<std::size_t>(1, std::size_t{1} << 30));
    cmd->add_option("--max-steps", options.max_steps,
                    fmt::format("Refuse a grid of more steps, first to last row (default: {} days of steps, 100 years)", meterbench::kDefaultMaxGridDays))
        ->transform(integer_in<std::int64_t>(1));
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    options.memory_budget_bytes = memory_budget_mib << 20;
    options.csv = inputs.front();
    options.more_csv.assign(inputs.begin() + 1, inputs.end());
    const meterbench::IngestSummary s = meterbench::ingest_csv(options);
    std::printf("ingested %s: %lld rows -> %lld series x %lld steps (%s .. %s), %lld observed, %lld summed duplicates, %lld skipped\n",
                options.out.c_str(), static_cast<long long>(s.rows), static_cast<long long>(s.series), static_cast<long long>(s.steps),
                s.first_step.c_str(), s.last_step.c_str(), static_cast<long long>(s.observed_steps), static_cast<long long>(s.summed_rows),
                static_cast<long long>(s.skipped_rows));
    if (!options.labels.empty())
      std::printf("  labels: %lld anomalies, %lld 'not an anomaly' verdicts\n", static_cast<long long>(s.anomaly_labels),
                  static_cast<long long>(s.normal_verdicts));
    std::printf("  %.2f s wall, %.0f rows/s, file read %lld time(s), %lld fill pass(es)\n", s.wall_seconds,
                static_cast<double>(s.rows) / s.wall_seconds, static_cast<long long>(s.file_reads), static_cast<long long>(s.passes));
  }
};

}  // namespace

void add_ingest_command(CLI::App& app, CommonOptions& common) { register_command<IngestCommand>(app, common); }

}  // namespace meterbench::cli
