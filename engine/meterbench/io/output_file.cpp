#include "meterbench/io/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {
constexpr std::size_t kOutputFileBufferBytes = std::size_t{1} << 18;  // large alert files: few system calls
}

OutputFile::Buffer::Buffer() : bytes_(kOutputFileBufferBytes) { setp(bytes_.data(), bytes_.data() + bytes_.size()); }

bool OutputFile::Buffer::drain() {
  const char* at = pbase();
  const char* const end = pptr();
  while (at < end && error == 0) {
    const ssize_t n = ::write(fd, at, static_cast<std::size_t>(end - at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    else at += n;
  }
  setp(bytes_.data(), bytes_.data() + bytes_.size());
  return error == 0;
}

OutputFile::Buffer::int_type OutputFile::Buffer::overflow(int_type c) {
  if (fd < 0 || !drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int OutputFile::Buffer::sync() { return fd >= 0 && drain() ? 0 : -1; }

OutputFile::OutputFile() : std::ostream(nullptr) { rdbuf(&buffer_); }

OutputFile::OutputFile(const std::filesystem::path& path, bool append) : OutputFile() { open(path, append); }

OutputFile::~OutputFile() {
  if (buffer_.fd >= 0) ::close(buffer_.fd);  // abandoned: the staged output it belongs to is removed anyway
}

void OutputFile::open(const std::filesystem::path& path, bool append) {
  close();  // a file still open is finished (and its write errors reported) first
  path_ = path;
  buffer_.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
  if (buffer_.fd < 0) throw OutputError(fmt::format("cannot create '{}': {}", path.string(), std::strerror(errno)));
  buffer_.error = 0;
  clear();
}

void OutputFile::close() {
  if (buffer_.fd < 0) return;
  buffer_.drain();
  if (::close(buffer_.fd) != 0 && buffer_.error == 0) buffer_.error = errno;
  buffer_.fd = -1;
  if (buffer_.error != 0) {
    setstate(std::ios::badbit);
    throw OutputError(fmt::format("cannot write '{}': {}", path_.string(), std::strerror(buffer_.error)));
  }
}

}  // namespace meterbench
