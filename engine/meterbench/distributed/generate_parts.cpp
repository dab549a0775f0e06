#include "meterbench/distributed/generate_parts.hpp"

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {
constexpr std::uint64_t kBlockMagic = 0x6B6C62747261706DULL;  // "mpartblk"

template <typename T>
void write_array(std::ostream& out, const std::vector<T>& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}
template <typename T>
void read_array(std::ifstream& in, std::vector<T>& v, std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>);
  v.resize(n);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
}
}  // namespace

std::filesystem::path parts_directory(const std::filesystem::path& output) {
  const std::filesystem::path dir = output.parent_path().empty() ? std::filesystem::path(".") : output.parent_path();
  return dir / fmt::format(".{}.parts", output.filename().string());
}

int remove_stale_temporaries(const std::filesystem::path& output) { return remove_stale_staged_outputs(output); }

namespace {
constexpr const char* kPartsOwnerFile = "owner";  // the staging owner tag of the writer that made the directory
}

bool remove_stale_parts_directory(const std::filesystem::path& output) {
  const std::filesystem::path dir = parts_directory(output);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  std::ifstream owner_file(dir / kPartsOwnerFile);
  std::string owner;
  owner_file >> owner;
  // Without an owner file the directory is one no writer claimed: ranks write only after the writer has. This
  // process's own is a failed earlier generate of the same output: it runs one generate at a time.
  if (!owner.empty() && owner != staging_owner_tag() && staging_owner_alive(owner))
    throw OutputError(fmt::format("'{}' belongs to a generate of '{}' that is still running (process {}): wait for it or stop it",
                                  dir.string(), output.string(), owner.substr(0, owner.find('-'))));
  std::filesystem::remove_all(dir, ec);
  if (ec) throw OutputError(fmt::format("cannot remove '{}', left by a killed run: {}", dir.string(), ec.message()));
  spdlog::warn("removed '{}', left by a run that was killed{}", dir.string(),
               owner.empty() ? std::string() : fmt::format(" (process {} no longer runs)", owner.substr(0, owner.find('-'))));
  return true;
}

void claim_parts_directory(const std::filesystem::path& output) {
  remove_stale_parts_directory(output);
  const std::filesystem::path dir = parts_directory(output);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream owner(dir / kPartsOwnerFile);
  owner << staging_owner_tag() << '\n';
  owner.close();
  if (ec || !owner) throw OutputError(fmt::format("cannot create the parts directory '{}'", dir.string()));
}

BlockPartWriter::BlockPartWriter(const std::filesystem::path& path) : path_(path), out_(path) {}

void BlockPartWriter::write(const SeriesBlock& block, std::int64_t unplaced) {
  const std::array<std::uint64_t, 6> header = {kBlockMagic,
                                               static_cast<std::uint64_t>(block.first_series),
                                               static_cast<std::uint64_t>(block.count),
                                               static_cast<std::uint64_t>(block.steps),
                                               block.events.size(),
                                               static_cast<std::uint64_t>(unplaced)};
  out_.write(reinterpret_cast<const char*>(header.data()), sizeof(header));
  write_array(out_, block.values);
  write_array(out_, block.labels);
  std::string records;  // ids have any length: the records are serialised, after their byte count
  for (const SeriesRecord& r : block.series) r.append_to(records);
  const auto size = static_cast<std::uint64_t>(records.size());
  out_.write(reinterpret_cast<const char*>(&size), sizeof(size));
  out_.write(records.data(), static_cast<std::streamsize>(records.size()));
  write_array(out_, block.events);
}

void BlockPartWriter::finish() {
  out_.close();  // throws OutputError naming the part and the reason
}

BlockPartReader::BlockPartReader(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw DatasetError(fmt::format("part file '{}' is missing", path.string()));
}

bool BlockPartReader::next(SeriesBlock& block, std::int64_t& unplaced) {
  std::array<std::uint64_t, 6> header{};
  in_.read(reinterpret_cast<char*>(header.data()), sizeof(header));
  if (in_.gcount() == 0 && in_.eof()) return false;
  if (!in_ || header[0] != kBlockMagic) throw DatasetError(fmt::format("part file '{}' is torn or not a part file", path_.string()));
  const auto first = static_cast<std::int64_t>(header[1]), count = static_cast<std::int64_t>(header[2]), steps = static_cast<std::int64_t>(header[3]);
  block.reset(first, count, steps, true);
  const auto n = static_cast<std::size_t>(count * steps);
  read_array(in_, block.values, n);
  read_array(in_, block.labels, n);
  std::uint64_t size = 0;
  in_.read(reinterpret_cast<char*>(&size), sizeof(size));
  std::vector<char> records(in_ ? static_cast<std::size_t>(size) : 0);
  read_array(in_, records, records.size());
  if (in_) {
    std::size_t at = 0;
    try {
      for (SeriesRecord& r : block.series) at = r.read_from(std::string_view(records.data(), records.size()), at);
    } catch (const std::invalid_argument&) {
      in_.setstate(std::ios::failbit);  // reported below as a part that ends inside the block
    }
  }
  read_array(in_, block.events, static_cast<std::size_t>(header[4]));
  unplaced = static_cast<std::int64_t>(header[5]);
  if (!in_) throw DatasetError(fmt::format("part file '{}' ends inside a block of series [{}, {})", path_.string(), first, first + count));
  return true;
}

}  // namespace meterbench
