// Contract: CsvScanner splits records as RFC 4180 says whatever the field lengths and where fields fall in the
// text (its search for delimiters and quotes works on blocks of 16 and 8 bytes): plain and quoted fields,
// commas, line breaks and doubled quotes inside quotes, empty fields, LF and CRLF line ends, a last record
// without a line end; line numbers count the line breaks inside quoted fields.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/core/random.hpp"
#include "meterbench/io/csv.hpp"

namespace meterbench {
namespace {

// A field's text: plain fields hold no comma, quote or line break; quoted ones may hold all three.
std::string random_field(Rng& rng, bool quoted) {
  static constexpr std::string_view kPlain = "abcXYZ019 .-/|{}:;";
  static constexpr std::string_view kQuoted = "ab ,\"\n{}";
  const std::string_view alphabet = quoted ? kQuoted : kPlain;
  std::string text;
  const std::int64_t length = rng.integer(0, 40);
  for (std::int64_t i = 0; i < length; ++i) text += alphabet[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(alphabet.size()) - 1))];
  return text;
}

TEST(CsvScanner, SplitsRecordsOfEveryFieldLengthAndPlacement) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    std::vector<std::vector<std::string>> expected;
    std::vector<std::int64_t> expected_lines;
    std::string text;
    std::int64_t line = 1;
    const std::int64_t records = rng.integer(1, 30);
    for (std::int64_t r = 0; r < records; ++r) {
      auto& fields = expected.emplace_back();
      expected_lines.push_back(line);
      const std::int64_t count = rng.integer(1, 12);
      for (std::int64_t f = 0; f < count; ++f) {
        const bool quoted = rng.bernoulli(0.3);
        std::string field = random_field(rng, quoted);
        if (!quoted && field.empty() && count == 1) field = "x";  // a record of one empty field is a blank line
        if (f > 0) text += ',';
        if (quoted) {
          text += '"';
          for (const char c : field) {
            text += c;
            if (c == '"') text += '"';
            if (c == '\n') ++line;
          }
          text += '"';
        } else {
          text += field;
        }
        fields.push_back(field);
      }
      const bool last = r + 1 == records;
      if (!last || rng.bernoulli(0.5)) text += rng.bernoulli(0.3) ? "\r\n" : "\n";
      ++line;
    }
    CsvScanner scanner(text, "random.csv");
    std::vector<std::string_view> fields;
    for (std::size_t r = 0; r < expected.size(); ++r) {
      ASSERT_TRUE(scanner.next(fields)) << "seed " << seed << " record " << r;
      ASSERT_EQ(std::vector<std::string>(fields.begin(), fields.end()), expected[r]) << "seed " << seed << " record " << r;
      EXPECT_EQ(scanner.line(), expected_lines[r]) << "seed " << seed << " record " << r;
    }
    EXPECT_FALSE(scanner.next(fields)) << "seed " << seed;
  }
}

TEST(CsvScanner, NamesUnterminatedQuotesAndTextAfterAClosingQuote) {
  std::vector<std::string_view> fields;
  const std::string padding(37, 'p');  // the fault beyond the first blocks
  const std::string unterminated_text = "a,b\n" + padding + ",\"never closed, still open\nx,y\n";
  CsvScanner unterminated(unterminated_text, "u.csv");
  ASSERT_TRUE(unterminated.next(fields));
  try {
    unterminated.next(fields);
    FAIL() << "no error";
  } catch (const CsvError& e) {
    EXPECT_STREQ(e.what(), "u.csv:2: unterminated quoted field");
  }
  const std::string after_quote_text = padding + ",\"quoted\"tail\n";
  CsvScanner after_quote(after_quote_text, "t.csv");
  try {
    after_quote.next(fields);
    FAIL() << "no error";
  } catch (const CsvError& e) {
    EXPECT_STREQ(e.what(), "t.csv:1: unexpected text after the closing quote of field 2");
  }
}

}  // namespace
}  // namespace meterbench
