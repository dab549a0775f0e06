#include "meterbench/io/csv.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {

// The first position at or after `from` holding one of the bytes Cs (text.size() when none), 16 or 8 bytes at a
// time: most of an export is field text, and byte loops and short memchr calls there were most of the parse time.
template <char... Cs>
std::size_t find_first_of_bytes(std::string_view text, std::size_t from) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = from;
#if defined(__SSE2__)  // part of every x86-64 CPU: 16 bytes at a time
  for (; i + 16 <= n; i += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int hits = _mm_movemask_epi8((_mm_cmpeq_epi8(block, _mm_set1_epi8(Cs)) | ...));
    if (hits != 0) return i + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(hits)));
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    // A byte of `word` equal to c sets its high bit here; a false hit can only follow a true one in the same word.
    const auto bytes_equal = [](std::uint64_t word, char c) {
      const std::uint64_t x = word ^ (kOnes * static_cast<unsigned char>(c));
      return (x - kOnes) & ~x & kHighs;
    };
    for (; i + 8 <= n; i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, p + i, 8);
      const std::uint64_t hits = (bytes_equal(word, Cs) | ...);
      if (hits != 0) return i + static_cast<std::size_t>(std::countr_zero(hits) / 8);
    }
  }
  for (; i < n; ++i)
    if (((p[i] == Cs) || ...)) return i;
  return n;
}

// `raw` (a quoted field's text) with each doubled quote made one, appended a run at a time.
void append_unescaped(std::string& out, std::string_view raw) {
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t q = find_first_of_bytes<'"'>(raw, i);
    if (q == raw.size()) {
      out.append(raw.substr(i));
      return;
    }
    out.append(raw.substr(i, q + 1 - i));
    i = q + 2;
  }
}

}  // namespace

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
        const std::size_t q = find_first_of_bytes<'"'>(text_, pos_);
        if (q == n) throw CsvError(fmt::format("{}:{}: unterminated quoted field", source_, record_line_));
        next_line_ += std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_), text_.begin() + static_cast<std::ptrdiff_t>(q), '\n');
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
          append_unescaped(s, raw);
          raw = s;
        }
        fields.push_back(raw);
        if (pos_ < n && text_[pos_] != ',' && text_[pos_] != '\r' && text_[pos_] != '\n')
          throw CsvError(fmt::format("{}:{}: unexpected text after the closing quote of field {}", source_, record_line_, fields.size()));
        break;
      }
    } else {
      const std::size_t begin = pos_;
      pos_ = find_first_of_bytes<',', '\n', '\r'>(text_, pos_);
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
