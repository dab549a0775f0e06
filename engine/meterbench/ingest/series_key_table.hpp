#pragma once
// The series key table of `ingest`: used by ingest.cpp only, in a header of its own to keep that file short.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <string_view>
#include <vector>

#include "meterbench/core/random.hpp"

namespace meterbench {

// Series are split into this many buckets by key hash; one scatter task owns a bucket, so each cell of the
// matrix is summed by one task in file order (deterministic for any thread count).
constexpr std::uint32_t kBuckets = 64;

// Series keys ("customer\x1fmeter") -> series facts, by open addressing with linear probing over a
// power-of-two table of (hash tag, entry) slots, keys in one arena. Every data row looks its series up
// (in a per-thread table while parsing), so this avoids the node and string indirections of std::unordered_map.
class SeriesKeyTable {
 public:
  struct Entry {
    std::size_t key_offset = 0;
    std::size_t key_size = 0;
    std::int64_t index = -1;  // position after sorting
    double price = std::numeric_limits<double>::quiet_NaN();
    std::int64_t price_time = std::numeric_limits<std::int64_t>::min();
    std::int64_t price_offset = -1;  // file offset of the priced row: the later row wins a tie of price_time
    std::uint32_t bucket = 0;         // scatter bucket, from the key's hash

    /// Keeps the price of the latest row by (step, file offset): the same as a serial read in file order
    /// keeping the last of the rows on the latest step, whatever order chunks are merged in.
    void offer_price(double p, std::int64_t time, std::int64_t offset) {
      if (std::isnan(p) || std::tie(time, offset) < std::tie(price_time, price_offset)) return;
      price = p;
      price_time = time;
      price_offset = offset;
    }
  };

  SeriesKeyTable() : slots_(1024, 0) {}

  /// The entry of `key`; a new one when absent and `insert`, else nullptr.
  Entry* find(std::string_view key, bool insert) {
    const std::uint64_t h = hash(key);
    const std::uint64_t tag = h >> 32;
    for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const std::uint64_t slot = slots_[i];
      if (slot == 0) break;
      if ((slot >> 32) == tag) {
        Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
        if (this->key(e) == key) return &e;
      }
    }
    if (!insert) return nullptr;
    if (2 * (entries_.size() + 1) > slots_.size()) rehash(2 * slots_.size());
    entries_.push_back({arena_.size(), key.size()});
    entries_.back().bucket = static_cast<std::uint32_t>(h >> 16) % kBuckets;
    arena_.append(key);
    place(h, entries_.size());
    return &entries_.back();
  }

  [[nodiscard]] std::string_view key(const Entry& e) const { return std::string_view(arena_).substr(e.key_offset, e.key_size); }
  [[nodiscard]] std::vector<Entry>& entries() { return entries_; }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  // 8 bytes at a time, multiply-xor, then a full avalanche.
  static std::uint64_t hash(std::string_view key) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ key.size();
    std::size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, key.data() + i, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
      h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, key.data() + i, key.size() - i);
    return mix64(h ^ tail);
  }
  void place(std::uint64_t h, std::size_t entry_number) {
    std::size_t i = h & (slots_.size() - 1);
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = (h >> 32 << 32) | entry_number;
  }
  void rehash(std::size_t size) {
    slots_.assign(size, 0);
    for (std::size_t n = 0; n < entries_.size(); ++n) place(hash(key(entries_[n])), n + 1);
  }

  std::vector<std::uint64_t> slots_;
  std::vector<Entry> entries_;
  std::string arena_;
};

}  // namespace meterbench
