#pragma once
// `ingest --skip-bad`: the rows it skipped, with their reasons, in a CSV beside the output (OUT.rejects.csv),
// so that nothing is dropped unseen.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench::usage_csv {

struct RejectedRow {
  std::string file;
  std::int64_t line = 0;
  const char* reason = "";
  std::string_view raw;  ///< the record as the file holds it, without its line terminator
  std::string_view column;  ///< the header column whose value was refused; empty for the row as a whole
};

/// OUT.rejects.csv for the output OUT.
std::filesystem::path rejects_path(const std::filesystem::path& out);

/// Writes `rows` (header file,line,column,reason,raw_line; `column` is the column whose value was refused) to
/// `path`. Throws std::runtime_error naming the path when it cannot be written.
void write_rejects(const std::filesystem::path& path, const std::vector<RejectedRow>& rows);

/// "3 negative quantity, 1 empty quantity": the rows counted by reason, most frequent first (then by name).
std::string count_by_reason(const std::vector<RejectedRow>& rows);

}  // namespace meterbench::usage_csv
