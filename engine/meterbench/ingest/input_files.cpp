#include "meterbench/ingest/input_files.hpp"

#include <glob.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/io/csv.hpp"

namespace meterbench::usage_csv {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) { return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0; }
bool is_gzip(const fs::path& p) { return ends_with(p.string(), ".gz"); }
bool is_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<fs::path> glob_matches(const std::string& pattern) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<fs::path> found;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) found.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) throw CsvError(fmt::format("{}: the pattern could not be expanded", pattern));
  if (found.empty()) throw CsvError(fmt::format("{}: no file matches the pattern", pattern));
  return found;
}

std::vector<fs::path> directory_csvs(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && (ends_with(name, ".csv") || ends_with(name, ".csv.gz"))) found.push_back(e.path());
  }
  if (found.empty()) throw CsvError(fmt::format("{}: the directory holds no *.csv or *.csv.gz file", dir.string()));
  return found;
}

// The uncompressed size a gzip file's trailer states (modulo 4 GiB, of its last member only): a hint to
// reserve the text at once instead of growing it by copies.
std::size_t gzip_size_hint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  unsigned char trailer[4] = {};
  const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : 0;
  if (size < 18 || !in.seekg(-4, std::ios::end) || !in.read(reinterpret_cast<char*>(trailer), 4)) return 0;
  const std::size_t stated = std::size_t{trailer[0]} | std::size_t{trailer[1]} << 8 | std::size_t{trailer[2]} << 16 | std::size_t{trailer[3]} << 24;
  return std::min(stated, static_cast<std::size_t>(size) * 64);  // a file that is not gzip states nonsense
}

std::string read_gzip(const fs::path& path) {
  gzFile f = ::gzopen(path.c_str(), "rb");
  if (f == nullptr) throw CsvError(fmt::format("{}: cannot open", path.string()));
  ::gzbuffer(f, 1 << 20);
  std::string text;
  text.reserve(gzip_size_hint(path) + 1);
  char buffer[1 << 16];
  int n = 0;
  while ((n = ::gzread(f, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  // zlib reads a file without the gzip magic as plain text: a .gz name that is not gzip is an error. A
  // truncated stream ends the reads normally and leaves Z_BUF_ERROR behind.
  int code = Z_OK;
  const char* zlib_message = ::gzerror(f, &code);
  const std::string why = n < 0 || code != Z_OK ? zlib_message : ::gzdirect(f) == 1 ? "no gzip header" : "";
  ::gzclose(f);
  if (!why.empty()) throw CsvError(fmt::format("{}: not a readable gzip file ({})", path.string(), why));
  return text;
}

// Line breaks in `text`, found by memchr: they are a few hundred bytes apart in an export, and a byte loop over
// the whole merge cost as much as parsing it.
std::int64_t count_line_breaks(std::string_view text) {
  std::int64_t count = 0;
  for (const char* p = text.data(), *end = text.data() + text.size(); (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr; ++p)
    ++count;
  return count;
}

// The whole text of one input: a plain file stays mapped (copying it cost as much as parsing it), stdin and
// gzip are read into `storage`.
std::string_view read_input(const fs::path& path, std::optional<MappedFile>& mapped, std::string& storage) {
  if (path == "-") storage.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  else if (is_gzip(path)) storage = read_gzip(path);
  else return mapped.emplace(path).text();
  return storage;
}

std::string display_name(const fs::path& path) { return path == "-" ? "<stdin>" : path.string(); }

}  // namespace

std::vector<fs::path> expand_inputs(const std::vector<fs::path>& specs) {
  std::vector<fs::path> inputs;
  for (const fs::path& spec : specs) {
    std::error_code ec;
    if (spec == "-") inputs.push_back(spec);
    else if (fs::is_directory(spec, ec)) {
      const auto found = directory_csvs(spec);
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else if (!fs::exists(spec, ec) && is_pattern(spec.string())) {
      const auto found = glob_matches(spec.string());
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else {
      inputs.push_back(spec);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  // One file read twice would double its rows without a word: refuse it.
  const auto twice = std::adjacent_find(inputs.begin(), inputs.end(), [](const fs::path& a, const fs::path& b) {
    std::error_code ec;
    return a == b || (a != "-" && b != "-" && fs::equivalent(a, b, ec));
  });
  if (twice != inputs.end()) throw CsvError(fmt::format("{}: the input is named more than once", display_name(*twice)));
  return inputs;
}

MergedInput::MergedInput(const std::vector<fs::path>& inputs, const fs::path& beside) {
  if (inputs.size() == 1 && inputs.front() != "-" && !is_gzip(inputs.front())) {
    path_ = inputs.front();
    description_ = path_.string();
    return;
  }
  // Named like a staged output of "<output>.inputs.csv", so that an interrupt removes it and a later run removes
  // one a killed run left (it can be as large as the inputs).
  const fs::path merge = beside.parent_path() / (beside.filename().string() + ".inputs.csv");
  remove_stale_staged_outputs(merge);
  path_ = merge.parent_path() / fmt::format(".{}.tmp-{}", merge.filename().string(), staging_owner_tag());
  on_interrupt_.emplace(path_);
  temporary_ = true;
  description_ = inputs.size() == 1 ? display_name(inputs.front()) : fmt::format("{} files: {} .. {}", inputs.size(), display_name(inputs.front()), display_name(inputs.back()));
  try {
    write_merge(inputs);
  } catch (...) {
    std::error_code ec;
    fs::remove(path_, ec);  // the destructor does not run for a constructor that throws
    throw;
  }
}

void MergedInput::write_merge(const std::vector<fs::path>& inputs) {
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  if (!out) throw CsvError(fmt::format("{}: cannot write the merge of the inputs", path_.string()));
  std::vector<std::string> first_header;
  std::int64_t merged_line = 2;
  std::vector<std::string_view> fields;
  for (const fs::path& input : inputs) {
    const std::string name = display_name(input);
    std::optional<MappedFile> mapped;
    std::string storage;
    const std::string_view text = read_input(input, mapped, storage);
    CsvScanner scanner(text, name);
    if (!scanner.next(fields)) throw CsvError(fmt::format("{}: the file is empty (expected a header: customer,meter,date,quantity[,price])", name));
    const std::vector<std::string> header(fields.begin(), fields.end());
    if (first_header.empty()) {
      first_header = header;
      out.write(text.data(), static_cast<std::streamsize>(scanner.offset()));
      if (scanner.offset() == 0 || text[scanner.offset() - 1] != '\n') out.put('\n');
    } else if (header != first_header) {
      throw CsvError(fmt::format("{}: its header '{}' differs from the header '{}' of {} (every input must have the same columns in the same order)",
                                 name, fmt::join(header, ","), fmt::join(first_header, ","), segments_.front().name));
    }
    segments_.push_back({merged_line, scanner.next_line(), name});
    const std::string_view data = text.substr(scanner.offset());
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    merged_line += count_line_breaks(data);
    if (!data.empty() && data.back() != '\n') {
      out.put('\n');
      ++merged_line;
    }
  }
  if (!out.flush()) throw CsvError(fmt::format("{}: cannot write the merge of the inputs", path_.string()));
}

MergedInput::~MergedInput() {
  std::error_code ec;
  if (temporary_) fs::remove(path_, ec);
}

const MergedInput::Segment& MergedInput::segment_of(std::int64_t merged_line) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), merged_line, [](std::int64_t l, const Segment& s) { return l < s.merged_line; });
  return it == segments_.begin() ? *it : *std::prev(it);
}

std::pair<std::string, std::int64_t> MergedInput::origin(std::int64_t merged_line) const {
  if (!temporary_) return {path_.string(), merged_line};
  const Segment& s = segment_of(merged_line);
  return {s.name, s.input_line + merged_line - s.merged_line};
}

std::string MergedInput::locate(const std::string& message) const {
  if (!temporary_) return message;
  const std::string merged = path_.string();
  std::string out;
  std::size_t pos = 0;
  for (std::size_t at = message.find(merged); at != std::string::npos; at = message.find(merged, pos)) {
    out.append(message, pos, at - pos);
    pos = at + merged.size();
    std::size_t digits = pos + 1;
    while (digits < message.size() && message[digits] >= '0' && message[digits] <= '9') ++digits;
    if (pos < message.size() && message[pos] == ':' && digits > pos + 1) {
      const std::int64_t line = std::stoll(message.substr(pos + 1, digits - pos - 1));
      const Segment& s = segment_of(line);
      out += fmt::format("{}:{}", s.name, s.input_line + line - s.merged_line);
      pos = digits;
    } else {
      out += description_;
    }
  }
  out.append(message, pos);
  // "(line N)": a row of the merge named without the file (the grid span).
  const std::string marker = "(line ";
  for (std::size_t at = out.find(marker); at != std::string::npos; at = out.find(marker, at + 1)) {
    std::size_t digits = at + marker.size();
    while (digits < out.size() && out[digits] >= '0' && out[digits] <= '9') ++digits;
    if (digits == at + marker.size() || digits >= out.size() || out[digits] != ')') continue;
    const std::int64_t line = std::stoll(out.substr(at + marker.size(), digits - at - marker.size()));
    const Segment& s = segment_of(line);
    out.replace(at, digits + 1 - at, fmt::format("({}:{})", s.name, s.input_line + line - s.merged_line));
  }
  return out;
}

}  // namespace meterbench::usage_csv
