// Contract: --map customer=A+B (or meter=...) makes the id the columns' values joined with '|', which no
// part may hold, so distinct rows never share an id; ids have any length; missing parts and parts holding
// the joiner are refused naming the file, line, column and value.
#include <gtest/gtest.h>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

// Contoso on sub-1 and on sub-2 (same name, another subscription) are two series; Tags holds quoted JSON.
const std::string kExport = R"(Date,SubscriptionId,CustomerName,MeterId,Quantity,Tags
2024-01-01,sub-1,Contoso,m1,1,"{""env"": ""prod"", ""team"": ""a""}"
2024-01-01,sub-2,Contoso,m1,2,
2024-01-02,sub-1,Contoso,m1,3,
)";

IngestOptions composite_options(const ScratchDir& dir) {
  return {.csv = dir / "usage.csv",
          .column_map = {"date=Date", "customer=CustomerName+SubscriptionId", "meter=MeterId", "quantity=Quantity"},
          .out = dir / "usage.h5"};
}

std::string composite_ingest_error(const std::string& csv, IngestOptions o = {}) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", csv);
  const IngestOptions defaults = composite_options(dir);
  o.csv = defaults.csv;
  o.out = defaults.out;
  if (o.column_map.empty()) o.column_map = defaults.column_map;
  try {
    ingest_csv(o);
  } catch (const std::exception& e) {
    return testing::refusal_message(e, dir, dir / "usage.h5");
  }
  return "ingested";
}

TEST(IngestCompositeIds, ColumnsJoinIntoOneIdPerSeries) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kExport);
  const IngestSummary s = ingest_csv(composite_options(dir));
  EXPECT_EQ(s.series, 2);
  EXPECT_EQ(s.steps, 2);
  DatasetReader reader(dir / "usage.h5");
  SeriesBlock b;
  reader.read(0, 2, b);
  EXPECT_EQ(b.series[0].customer(), "Contoso|sub-1");
  EXPECT_EQ(b.series[1].customer(), "Contoso|sub-2");
  EXPECT_EQ(b.series[0].meter(), "m1");
  EXPECT_EQ(b.values[0], 1.0f);
  EXPECT_EQ(b.values[1], 3.0f);
  EXPECT_EQ(b.values[2], 2.0f);
}

TEST(IngestCompositeIds, ProblemsNameFileLineColumnAndValue) {
  EXPECT_EQ(composite_ingest_error(kExport + "2024-01-03,sub|3,Contoso,m1,1,\n"),
            "usage.csv:5: column 'SubscriptionId': 'sub|3' holds '|', which joins the parts of a composite id (--skip-bad skips such rows)");
  EXPECT_EQ(composite_ingest_error(kExport + "2024-01-03,sub-3," + std::string(200, 'n') + ",m1,1,\n"), "ingested");  // any length
  EXPECT_EQ(composite_ingest_error(kExport, {.column_map = {"date=Date", "customer=CustomerName+Subscription+Region", "meter=MeterId", "quantity=Quantity"}}),
            "usage.csv: missing column(s) 'Subscription', 'Region' (for customer, part of --map customer=CustomerName+Subscription+Region) in "
            "the header: Date,SubscriptionId,CustomerName,MeterId,Quantity,Tags (rename with --map field=column)");
  // A header column whose name holds '+' is read as that one column.
  EXPECT_EQ(composite_ingest_error("Date,A+B,MeterId,Quantity\n2024-01-01,x,m,1\n",
                         {.column_map = {"date=Date", "customer=A+B", "meter=MeterId", "quantity=Quantity"}}),
            "ingested");
}

}  // namespace
}  // namespace meterbench
