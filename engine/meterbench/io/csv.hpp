#pragma once
// Fast reading of large CSV files: the file is memory-mapped and scanned record by record without
// allocation; fields follow RFC 4180 (quotes, doubled quotes inside quotes, CRLF or LF line ends).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench {

/// A CSV input that cannot be read; the message names the file (and line, column and value when known).
class CsvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  ///< throws CsvError naming the file
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  [[nodiscard]] std::string_view text() const { return {data_, size_}; }
  /// Tells the kernel the bytes before `offset` will not be read again (until the next pass), so a file
  /// larger than memory streams through without its pages counting as this process's resident memory.
  void release_before(std::size_t offset) const;
  /// The same for the whole pages inside [begin, end): a chunk parsed out of order.
  void release(std::size_t begin, std::size_t end) const;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Walks the records of CSV text. Field views stay valid until the next call of next().
class CsvScanner {
 public:
  /// `source` names the text in error messages (usually the file name).
  /// `start` and `first_line` let a scanner begin at a record boundary inside the text (parallel parsing
  /// of chunks): records may still extend past any chunk end, as the whole text stays visible.
  CsvScanner(std::string_view text, std::string source, std::size_t start = 0, std::int64_t first_line = 1)
      : text_(text), source_(std::move(source)), pos_(start), next_line_(first_line) {
    if (start == 0 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark, as spreadsheet exports write it
  }
  /// Reads the next non-empty record into `fields`; false at the end of the text.
  /// Throws CsvError naming the source and line on an unterminated quote or text after a closing quote.
  bool next(std::vector<std::string_view>& fields);
  /// 1-based line number where the last record started.
  [[nodiscard]] std::int64_t line() const { return record_line_; }
  /// Byte offset of the scanner in the text (progress reporting).
  [[nodiscard]] std::size_t offset() const { return pos_; }
  /// Byte offset where the last record started (after any blank lines before it).
  [[nodiscard]] std::size_t record_offset() const { return record_offset_; }
  /// 1-based line number at offset().
  [[nodiscard]] std::int64_t next_line() const { return next_line_; }

 private:
  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
  std::int64_t next_line_ = 1;
  std::int64_t record_line_ = 0;
  std::size_t record_offset_ = 0;
  // Storage for quoted fields with doubled quotes. A deque: fields of the record already returned point into
  // these strings, and growing a vector would move them (a short string's characters live inside the object).
  std::deque<std::string> unescaped_;
  std::size_t unescaped_used_ = 0;
};

}  // namespace meterbench
