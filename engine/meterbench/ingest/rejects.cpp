#include "meterbench/ingest/rejects.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/io/alert_csv.hpp"

namespace meterbench::usage_csv {

std::filesystem::path rejects_path(const std::filesystem::path& out) { return out.string() + ".rejects.csv"; }

void write_rejects(const std::filesystem::path& path, const std::vector<RejectedRow>& rows) {
  std::string text = "file,line,column,reason,raw_line\n";
  for (const RejectedRow& r : rows) {
    append_csv_text(text, r.file);
    text += fmt::format(",{},", r.line);
    append_csv_text(text, r.column);
    text += ',';
    append_csv_text(text, r.reason);
    text += ',';
    append_csv_text(text, r.raw);
    text += '\n';
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) throw std::runtime_error(fmt::format("{}: cannot write the rejected rows", path.string()));
}

std::string count_by_reason(const std::vector<RejectedRow>& rows) {
  std::map<std::string_view, std::int64_t> counts;
  for (const RejectedRow& r : rows) ++counts[r.reason];
  std::vector<std::pair<std::string_view, std::int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string text;
  for (const auto& [reason, count] : sorted) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", count, reason);
  return text;
}

}  // namespace meterbench::usage_csv
