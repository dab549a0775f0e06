#pragma once
// The inputs of `ingest`: files, directories (their *.csv and *.csv.gz), glob patterns, .gz files and "-"
// (stdin), merged into one CSV that the parallel parser reads like a single export. Inputs are sorted by
// path, so the rows (and the order in which rows of one series and step are summed) are the same whatever
// the order the inputs were given in. Errors about the merged text are translated back to the input file
// and line they came from.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meterbench/io/output_path.hpp"

namespace meterbench::usage_csv {

/// The concrete files `specs` name, sorted by path; "-" stays "-" (stdin). Throws CsvError naming the spec
/// when a pattern or directory matches nothing, a path does not exist, or a file is named twice.
std::vector<std::filesystem::path> expand_inputs(const std::vector<std::filesystem::path>& specs);

/// The text ingest parses: the single plain input itself, or a temporary merge of several (removed with
/// this object) holding the first header once and every input's data rows, in input order.
class MergedInput {
 public:
  /// `inputs` from expand_inputs; `beside`: the output, next to which the temporary merge is written.
  /// Throws CsvError naming the file for an unreadable input or one whose header differs from the first's.
  MergedInput(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& beside);
  ~MergedInput();
  MergedInput(const MergedInput&) = delete;
  MergedInput& operator=(const MergedInput&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// How the inputs are named in the dataset's provenance.
  const std::string& description() const { return description_; }
  /// The input file and its line for a line of the merge.
  std::pair<std::string, std::int64_t> origin(std::int64_t merged_line) const;
  /// `message` with "MERGED:LINE" references to the merge rewritten to "FILE:LINE" of the input, and other
  /// mentions of the merge to the description.
  std::string locate(const std::string& message) const;

 private:
  struct Segment {
    std::int64_t merged_line = 0;  // first line of the segment in the merge
    std::int64_t input_line = 0;   // the same line in its input
    std::string name;
  };
  const Segment& segment_of(std::int64_t merged_line) const;
  void write_merge(const std::vector<std::filesystem::path>& inputs);

  std::filesystem::path path_;
  bool temporary_ = false;
  std::optional<RemovedOnInterrupt> on_interrupt_;  ///< the merge is removed by SIGINT/SIGTERM like a staged output
  std::string description_;
  std::vector<Segment> segments_;
};

}  // namespace meterbench::usage_csv
