#include "meterbench/io/csv.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace meterbench {

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw CsvError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw CsvError(fmt::format("{}: not a regular file", path.string()));
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw CsvError(fmt::format("{}: cannot map: {}", path.string(), std::strerror(errno)));
    }
    ::madvise(p, size_, MADV_SEQUENTIAL);  // read once front to back: let the kernel read ahead and drop behind
    data_ = static_cast<const char*>(p);
  }
  ::close(fd);
}

void MappedFile::release_before(std::size_t offset) const {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = std::min(offset, size_) / page * page;
  if (data_ != nullptr && bytes > 0) ::madvise(const_cast<char*>(data_), bytes, MADV_DONTNEED);
}

void MappedFile::release(std::size_t begin, std::size_t end) const {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t first = (begin + page - 1) / page * page;
  const std::size_t last = std::min(end, size_) / page * page;
  if (data_ != nullptr && first < last) ::madvise(const_cast<char*>(data_) + first, last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

bool CsvScanner::next(std::vector<std::string_view>& fields) {
  fields.clear();
  unescaped_used_ = 0;
  const std::size_t n = text_.size();
  // Skip blank lines.
  while (pos_ < n && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++next_line_;
    ++pos_;
  }
  if (pos_ >= n) return false;
  record_line_ = next_line_;
  record_offset_ = pos_;
  for (;;) {
    if (pos_ < n && text_[pos_] == '"') {
      const std::size_t begin = ++pos_;
      bool doubled = false;
      for (;;) {
        const std::size_t q = text_.find('"', pos_);
        if (q == std::string_view::npos) throw CsvError(fmt::format("{}:{}: unterminated quoted field", source_, record_line_));
        for (std::size_t i = pos_; i < q; ++i) next_line_ += text_[i] == '\n';
        if (q + 1 < n && text_[q + 1] == '"') {
          doubled = true;
          pos_ = q + 2;
          continue;
        }
        pos_ = q + 1;
        std::string_view raw = text_.substr(begin, q - begin);
        if (doubled) {
          if (unescaped_used_ == unescaped_.size()) unescaped_.emplace_back();
          std::string& s = unescaped_[unescaped_used_++];
          s.clear();
          for (std::size_t i = 0; i < raw.size(); ++i) {
            s += raw[i];
            if (raw[i] == '"') ++i;
          }
          raw = s;
        }
        fields.push_back(raw);
        if (pos_ < n && text_[pos_] != ',' && text_[pos_] != '\r' && text_[pos_] != '\n')
          throw CsvError(fmt::format("{}:{}: unexpected text after the closing quote of field {}", source_, record_line_, fields.size()));
        break;
      }
    } else {
      const std::size_t begin = pos_;
      while (pos_ < n && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      fields.push_back(text_.substr(begin, pos_ - begin));
    }
    if (pos_ < n && text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    // End of record: CRLF, LF, or end of text.
    if (pos_ < n && text_[pos_] == '\r') ++pos_;
    if (pos_ < n && text_[pos_] == '\n') {
      ++pos_;
      ++next_line_;
    }
    return true;
  }
}

}  // namespace meterbench
