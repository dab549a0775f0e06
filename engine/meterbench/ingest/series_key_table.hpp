#pragma once
// The series key table of `ingest`: used by ingest.cpp only, in a header of its own to keep that file short.
#include <cmath>
#include <cstdint>
#include <algorithm>
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

  // What --keep and --currency add to a series, beside its entry (entries stay small: every row looks one up).
  struct Attributes {
    // The kept dimensions (encoded, in the table's dimension arena) of the latest row, as for the price.
    std::size_t dims_offset = 0, dims_size = 0;
    std::int64_t dims_time = std::numeric_limits<std::int64_t>::min(), dims_file_offset = -1;
    // Each currency of the series' rows with the file offset of its first row (most series have one).
    struct CurrencySeen {
      std::uint64_t code = 0;
      std::int64_t first_offset = std::numeric_limits<std::int64_t>::max();
    };
    CurrencySeen currency;
    std::vector<CurrencySeen> other_currencies;
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
  /// The attributes of an entry of this table (made on first use).
  [[nodiscard]] Attributes& attributes(const Entry& e) {
    const auto n = static_cast<std::size_t>(&e - entries_.data());
    if (n >= attributes_.size()) attributes_.resize(entries_.size());
    return attributes_[n];
  }
  /// The attributes of an entry, or defaults when it has none.
  [[nodiscard]] const Attributes& attributes(const Entry& e) const {
    static const Attributes none;
    const auto n = static_cast<std::size_t>(&e - entries_.data());
    return n < attributes_.size() ? attributes_[n] : none;
  }
  [[nodiscard]] std::string_view dimensions(const Entry& e) const {
    const Attributes& a = attributes(e);
    return std::string_view(dims_arena_).substr(a.dims_offset, a.dims_size);
  }

  /// Keeps the dimensions of the latest row by (step, file offset), as offer_price does; the arena grows only
  /// when a later row's dimensions differ.
  void offer_dimensions(const Entry& e, std::string_view encoded, std::int64_t time, std::int64_t offset) {
    Attributes& a = attributes(e);
    const bool had = a.dims_file_offset >= 0;
    if (had && std::tie(time, offset) < std::tie(a.dims_time, a.dims_file_offset)) return;
    a.dims_time = time;
    a.dims_file_offset = offset;
    if (had && std::string_view(dims_arena_).substr(a.dims_offset, a.dims_size) == encoded) return;
    a.dims_offset = dims_arena_.size();
    a.dims_size = encoded.size();
    dims_arena_.append(encoded);
  }
  /// Records a row's currency.
  void offer_currency(const Entry& e, std::uint64_t code, std::int64_t offset) {
    Attributes& a = attributes(e);
    if (a.currency.code == 0 || a.currency.code == code) {
      a.currency.code = code;
      a.currency.first_offset = std::min(a.currency.first_offset, offset);
      return;
    }
    for (Attributes::CurrencySeen& c : a.other_currencies)
      if (c.code == code) {
        c.first_offset = std::min(c.first_offset, offset);
        return;
      }
    a.other_currencies.push_back({code, offset});
  }
  /// Merges another table's entry of the same key into `e`: price, dimensions and currencies.
  void merge_from(Entry& e, const SeriesKeyTable& other, const Entry& o) {
    e.offer_price(o.price, o.price_time, o.price_offset);
    const Attributes& a = other.attributes(o);
    if (a.dims_file_offset >= 0) offer_dimensions(e, other.dimensions(o), a.dims_time, a.dims_file_offset);
    if (a.currency.code != 0) offer_currency(e, a.currency.code, a.currency.first_offset);
    for (const Attributes::CurrencySeen& c : a.other_currencies) offer_currency(e, c.code, c.first_offset);
  }

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
  std::vector<Attributes> attributes_;  // by entry number; empty unless --keep or --currency
  std::string dims_arena_;
};

}  // namespace meterbench
