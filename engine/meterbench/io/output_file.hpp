#pragma once
// An output stream to a file that keeps the system's reason when a write fails: std::ofstream only says that
// something failed, and errno is gone by the time its state is checked (another call, or another pipeline
// thread, has run since). close() throws OutputError naming the file and the reason ("No space left on
// device", "File too large").
#include <filesystem>
#include <ostream>
#include <streambuf>
#include <vector>

namespace meterbench {

class OutputFile : public std::ostream {
 public:
  OutputFile();
  /// Creates (or with `append`, appends to) `path`; throws OutputError naming it and the reason.
  explicit OutputFile(const std::filesystem::path& path, bool append = false);
  ~OutputFile() override;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void open(const std::filesystem::path& path, bool append = false);
  /// Flushes and closes; throws OutputError naming the file and the reason of the first failed write.
  void close();

 private:
  class Buffer : public std::streambuf {
   public:
    Buffer();
    int fd = -1;
    int error = 0;  // errno of the first failed write
    bool drain();   // writes the buffered bytes; false (and `error` set) on failure

   protected:
    int_type overflow(int_type c) override;
    int sync() override;

   private:
    std::vector<char> bytes_;
  };
  std::filesystem::path path_;
  Buffer buffer_;
};

}  // namespace meterbench
