// Contract: the adversarial suite. Every row is one hostile input or situation for the CLI: the files it writes
// (CSVs, scenarios, datasets edited with plain HDF5), the command line, the exit status it must end with (0 or 1
// from the tool itself; never a signal), a substring the message must hold (the file, line, column, key or
// value at fault) and the invariants after the run: nothing staged (`.NAME.tmp-*`) left anywhere in the case's
// directory, every file that was there before (inputs, a pre-existing output) byte for byte as it was unless
// the row expects it replaced, and no output where the run was refused.
//
// Categories: 1 ingest structure, 2 ingest dates, 3 ingest numbers, 4 ingest ids, 5 scenario files,
// 6 CLI values, 7 disk full, 8 corrupt and foreign HDF5, 9 output paths, 10 signals, 11 concurrency.
// Run one category: build/release/tests/adversarial_test --gtest_filter='*c07_*'; ADVERSARIAL_VERBOSE=1 prints every message.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>
#include <hdf5.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::read_file;
using testing::write_file;

// ---------------------------------------------------------------------------------------------------------------
// The rows.

/// How a row is run.
enum class Kind {
  plain,       ///< the command once, from the case directory
  signal_int,  ///< the command, SIGINT as soon as its output is staged
  signal_term, ///< the command, SIGTERM as soon as its output is staged
  kill9_rerun, ///< the command, SIGKILL once staged, then `rerun` (the command checked)
  race,        ///< the command twice at once: exactly one succeeds, the other fails naming `message`
};

/// Exit statuses a row may expect.
constexpr int kUsage = -100;      ///< a command-line parse error (CLI11's own non-zero status): any of 100..125
constexpr int kZeroOrOne = -101;  ///< either outcome is correct (a flipped byte in unchecksummed raw data)

using Setup = std::function<void(const fs::path& dir)>;

struct Row {
  std::string category;  ///< "c01_ingest_structure", ...
  std::string name;
  Setup setup;           ///< writes the case's files into its directory
  std::string command;   ///< arguments of meterbench; DATA = the shared small dataset, BIG = the shared larger one
  int exit = 1;          ///< expected exit status, or kUsage / kZeroOrOne
  std::string message;   ///< must appear in the output (empty: nothing checked but the status)
  std::string out;       ///< the output, relative to the case directory: must exist after success, not after failure
  std::vector<std::string> replaced = {};  ///< pre-existing files the run may change (an output replaced with --force)
  std::string prefix = "";                 ///< shell commands before the CLI (ulimit)
  std::string cwd = "";                    ///< sub-directory of the case directory to run in
  Kind kind = Kind::plain;
  std::string rerun = "";                  ///< kill9_rerun: the second command
};
void PrintTo(const Row& row, std::ostream* os) { *os << row.category << "/" << row.name; }

// ---------------------------------------------------------------------------------------------------------------
// Setup helpers.

Setup files(std::vector<std::pair<std::string, std::string>> named_texts) {
  return [named_texts](const fs::path& dir) {
    for (const auto& [name, text] : named_texts) {
      fs::create_directories((dir / name).parent_path());
      write_file(dir / name, text);
    }
  };
}
Setup csv(const std::string& text) { return files({{"u.csv", text}}); }
Setup both(Setup a, Setup b) {
  return [a, b](const fs::path& dir) {
    a(dir);
    b(dir);
  };
}

const std::string kHeader = "customer,meter,date,quantity\n";
std::string rows(const std::string& body) { return kHeader + "c,m,2024-01-01,1\n" + body; }
std::string ingest(const std::string& extra = "") { return "ingest --csv u.csv --out u.h5 --threads 1" + extra; }

std::string scenario(const std::string& population_override = "", const std::string& extra = "") {
  std::string population = "[population]\nseries = 4\ndays = 60\nstart = \"2024-01-01\"\nstep = \"1d\"\nseed = 5\n";
  if (!population_override.empty()) {
    const auto key = population_override.substr(0, population_override.find(' '));
    const auto at = population.find(key + " = ");
    population.replace(at, population.find('\n', at) - at, population_override);
  }
  return population + extra;
}
Setup toml(const std::string& text) { return files({{"s.toml", text}}); }
std::string generate(const std::string& extra = "") { return "generate --scenario s.toml --out g.h5 --threads 1" + extra; }

fs::path g_data;  // the shared small dataset: 24 series x 120 days with labels and events
fs::path g_big;   // the shared larger one: 3000 series x 400 days (runs that must last a moment)

Setup copy_data(const std::string& name = "d.h5") {
  return [name](const fs::path& dir) { fs::copy_file(g_data, dir / name); };
}

// Plain HDF5 edits of a dataset (no meterbench code involved).
struct H5File {
  explicit H5File(const fs::path& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) { EXPECT_GE(id, 0) << path; }
  ~H5File() { H5Fclose(id); }
  hid_t id;
};

template <class T>
void write_element(const fs::path& path, const std::string& dataset, hsize_t row, hsize_t col, hid_t type, T value) {
  H5File f(path);
  const hid_t d = H5Dopen2(f.id, dataset.c_str(), H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  const hsize_t start[2] = {row, col}, count[2] = {1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  const hid_t mem = H5Screate_simple(2, count, nullptr);
  EXPECT_GE(H5Dwrite(d, type, mem, space, H5P_DEFAULT, &value), 0) << dataset;
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
}
Setup set_value(hsize_t row, hsize_t col, float value) {
  return [=](const fs::path& dir) { write_element(dir / "d.h5", "/values", row, col, H5T_NATIVE_FLOAT, value); };
}
Setup set_label(hsize_t row, hsize_t col, std::uint8_t value) {
  return [=](const fs::path& dir) { write_element(dir / "d.h5", "/labels", row, col, H5T_NATIVE_UINT8, value); };
}

// One member of one row of a compound table (/series or /events), written by name.
template <class T>
void write_member(const fs::path& path, const std::string& dataset, hsize_t row, const std::string& member, hid_t member_type, T value) {
  H5File f(path);
  const hid_t d = H5Dopen2(f.id, dataset.c_str(), H5P_DEFAULT);
  const hid_t type = H5Tcreate(H5T_COMPOUND, sizeof(T));
  H5Tinsert(type, member.c_str(), 0, member_type);
  const hid_t space = H5Dget_space(d);
  const hsize_t start[1] = {row}, count[1] = {1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  const hid_t mem = H5Screate_simple(1, count, nullptr);
  EXPECT_GE(H5Dwrite(d, type, mem, space, H5P_DEFAULT, &value), 0) << dataset << "." << member;
  H5Sclose(mem);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
}
// HDF5's native type of a member written from a T.
template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else {
    static_assert(std::is_same_v<T, std::uint8_t>);
    return H5T_NATIVE_UINT8;
  }
}
template <class T>
Setup series_member(hsize_t row, const std::string& member, T value) {
  return [=](const fs::path& dir) { write_member(dir / "d.h5", "/series", row, member, native_type<T>(), value); };
}
template <class T>
Setup event_member(hsize_t row, const std::string& member, T value) {
  return [=](const fs::path& dir) { write_member(dir / "d.h5", "/events", row, member, native_type<T>(), value); };
}
// Reads or writes elements [first, first + count) of a 1-D dataset.
void transfer_elements(const fs::path& path, const char* dataset, hid_t type, hsize_t first, hsize_t count, void* data, bool write) {
  H5File f(path);
  const hid_t d = H5Dopen2(f.id, dataset, H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &first, nullptr, &count, nullptr);
  const hid_t mem = H5Screate_simple(1, &count, nullptr);
  EXPECT_GE(write ? H5Dwrite(d, type, mem, space, H5P_DEFAULT, data) : H5Dread(d, type, mem, space, H5P_DEFAULT, data), 0) << dataset;
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
}
// Overwrites text cell `cell` of /series_text (series x (customer, meter)) with `text` of the cell's length.
Setup series_text_cell(hsize_t cell, const std::string& text) {
  return [=](const fs::path& dir) {
    std::uint64_t start = 0;
    transfer_elements(dir / "d.h5", "/series_text_offsets", H5T_NATIVE_UINT64, cell, 1, &start, false);
    std::string bytes = text;
    transfer_elements(dir / "d.h5", "/series_text", H5T_NATIVE_UINT8, start, bytes.size(), bytes.data(), true);
  };
}
// Copies series `from`'s ids over series `to`'s (ids of equal lengths).
Setup copy_ids(hsize_t from, hsize_t to) {
  return [=](const fs::path& dir) {
    std::uint64_t offsets[3] = {}, target[3] = {};
    transfer_elements(dir / "d.h5", "/series_text_offsets", H5T_NATIVE_UINT64, 2 * from, 3, offsets, false);
    transfer_elements(dir / "d.h5", "/series_text_offsets", H5T_NATIVE_UINT64, 2 * to, 3, target, false);
    ASSERT_EQ(offsets[2] - offsets[0], target[2] - target[0]);
    std::string ids(offsets[2] - offsets[0], '\0');
    transfer_elements(dir / "d.h5", "/series_text", H5T_NATIVE_UINT8, offsets[0], ids.size(), ids.data(), false);
    transfer_elements(dir / "d.h5", "/series_text", H5T_NATIVE_UINT8, target[0], ids.size(), ids.data(), true);
  };
}
Setup text_offset(hsize_t cell, std::uint64_t value) {
  return [=](const fs::path& dir) { transfer_elements(dir / "d.h5", "/series_text_offsets", H5T_NATIVE_UINT64, cell, 1, const_cast<std::uint64_t*>(&value), true); };
}

Setup int_attribute(const std::string& name, std::int64_t value) {
  return [=](const fs::path& dir) {
    H5File f(dir / "d.h5");
    const hid_t a = H5Aopen(f.id, name.c_str(), H5P_DEFAULT);
    EXPECT_GE(a, 0) << name;
    EXPECT_GE(H5Awrite(a, H5T_NATIVE_INT64, &value), 0) << name;
    H5Aclose(a);
  };
}
// Creates the scalar attribute `name` of `type` on `object`, holding `data`; closes `type`.
void write_scalar_attribute(hid_t object, const std::string& name, hid_t type, const void* data) {
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Awrite(a, type, data), 0) << name;
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}
// Replaces a string attribute with a fixed-length one holding `value`.
Setup string_attribute(const std::string& name, const std::string& value) {
  return [=](const fs::path& dir) {
    H5File f(dir / "d.h5");
    H5Adelete(f.id, name.c_str());
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size() + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    write_scalar_attribute(f.id, name, type, value.c_str());
  };
}
// Replaces a string attribute with a variable-length one (the version-1 layout: the global heap).
Setup vlen_string_attribute(const std::string& name, const std::string& value) {
  return [=](const fs::path& dir) {
    H5File f(dir / "d.h5");
    H5Adelete(f.id, name.c_str());
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const char* text = value.c_str();
    write_scalar_attribute(f.id, name, type, &text);
  };
}
Setup delete_object(const std::string& name) {
  return [=](const fs::path& dir) {
    H5File f(dir / "d.h5");
    if (H5Aexists(f.id, name.c_str()) > 0)
      H5Adelete(f.id, name.c_str());
    else
      EXPECT_GE(H5Ldelete(f.id, name.c_str(), H5P_DEFAULT), 0) << name;
  };
}
// An HDF5 file that is not a meterbench dataset: the checksummed 1.10 format, or h5py's default (the earliest
// format, no checksums) with a meterbench-looking attribute.
Setup plain_hdf5(bool checksummed) {
  return [=](const fs::path& dir) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (checksummed) H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
    const hid_t f = H5Fcreate((dir / "d.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 19);
    write_scalar_attribute(f, "format", type, "meterbench-dataset");
    H5Fclose(f);
    H5Pclose(fapl);
  };
}
// The shared dataset copied object by object into a file in HDF5's earliest format (h5py's default: no
// checksums in the superblock or object headers), with every attribute.
herr_t copy_attribute(hid_t source, const char* name, const H5A_info_t*, void* destination) {
  const hid_t a = H5Aopen(source, name, H5P_DEFAULT);
  const hid_t type = H5Aget_type(a), space = H5Aget_space(a);
  std::vector<char> bytes(H5Tget_size(type) * static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
  H5Aread(a, type, bytes.data());
  const hid_t copy = H5Acreate2(*static_cast<hid_t*>(destination), name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(copy, type, bytes.data());
  H5Aclose(copy);
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(a);
  return 0;
}
Setup unchecksummed_copy() {
  return [](const fs::path& dir) {
    const hid_t source = H5Fopen(g_data.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t destination = H5Fcreate((dir / "d.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    for (const char* name : {"values", "labels", "series", "events", "anomaly_kinds", "usage_profiles"})
      if (H5Lexists(source, name, H5P_DEFAULT) > 0) {
        EXPECT_GE(H5Ocopy(source, name, destination, name, H5P_DEFAULT, H5P_DEFAULT), 0) << name;
      }
    H5Aiterate2(source, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, copy_attribute, &destination);
    H5Fclose(destination);
    H5Fclose(source);
  };
}

Setup truncate_to(std::int64_t bytes) {  // < 0: that many bytes off the end
  return [=](const fs::path& dir) {
    const auto size = static_cast<std::int64_t>(fs::file_size(dir / "d.h5"));
    fs::resize_file(dir / "d.h5", static_cast<std::uintmax_t>(bytes < 0 ? size + bytes : bytes));
  };
}
Setup flip_byte(std::int64_t offset) {  // < 0: from the end; offsets past the end flip the middle
  return [=](const fs::path& dir) {
    std::string bytes = read_file(dir / "d.h5");
    const auto size = static_cast<std::int64_t>(bytes.size());
    const std::int64_t at = offset < 0 ? size + offset : (offset >= size ? size / 2 : offset);
    bytes[static_cast<std::size_t>(at)] = static_cast<char>(~bytes[static_cast<std::size_t>(at)]);
    write_file(dir / "d.h5", bytes);
  };
}
Setup in_data(Setup edit) { return both(copy_data(), edit); }

// A backtest run of d.h5 with bands in `run/`, made by the CLI; then `edit` applied to run/bands.h5.
Setup run_with_bands(std::function<void(const fs::path& bands)> edit) {
  return [edit](const fs::path& dir) {
    fs::copy_file(g_data, dir / "d.h5");
    const auto r = testing::run_command("cd '" + dir.string() + "' && " + METERBENCH_CLI +
                                        " backtest --data d.h5 --out run --threads 1 --no-baseline --save-bands --log-level warn");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    edit(dir / "run" / "bands.h5");
  };
}

// A hard link or a symbolic link named `link` to `target`, both in the case directory.
Setup hard_link(const std::string& target, const std::string& link) {
  return [=](const fs::path& dir) { fs::create_hard_link(dir / target, dir / link); };
}
Setup sym_link(const std::string& target, const std::string& link) {
  return [=](const fs::path& dir) { fs::create_symlink(target, dir / link); };
}
Setup make_dir(const std::string& name) {
  return [=](const fs::path& dir) { fs::create_directories(dir / name); };
}

std::string big_csv(int series, int days) {
  std::string text = kHeader;
  for (int s = 0; s < series; ++s)
    for (int day = 0; day < days; ++day) {
      const int month = 1 + day / 28, dom = 1 + day % 28;
      text += "c" + std::to_string(s) + ",m,2023-" + (month < 10 ? "0" : "") + std::to_string(month) + "-" + (dom < 10 ? "0" : "") +
              std::to_string(dom) + "," + std::to_string(s + day) + "\n";
    }
  return text;
}

std::string replaced_text(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string repeat(char c, int n) { return std::string(static_cast<std::size_t>(n), c); }

// ---------------------------------------------------------------------------------------------------------------
// The table.

std::vector<Row> all_rows() {
  std::vector<Row> t;
  const auto add = [&t](Row row) { t.push_back(std::move(row)); };

  // 1. ingest structure ------------------------------------------------------------------------------------------
  {
    const std::string c = "c01_ingest_structure";
    add({c, "EmptyFile", csv(""), ingest(), 1, "u.csv: the file is empty", "u.h5"});
    add({c, "HeaderOnly", csv(kHeader), ingest(), 1, "u.csv: no data rows after the header", "u.h5"});
    add({c, "HeaderWithoutNewline", csv("customer,meter,date,quantity"), ingest(), 1, "no data rows", "u.h5"});
    add({c, "MissingColumn", csv("customer,meter,date\nc,m,2024-01-01\n"), ingest(), 1, "missing column(s) 'quantity'", "u.h5"});
    add({c, "DuplicateUsedColumn", csv("customer,meter,date,quantity,quantity\nc,m,2024-01-01,1,2\n"), ingest(), 1,
         "column 'quantity' (for quantity) appears 2 times in the header, as columns 4 and 5", "u.h5"});
    add({c, "DuplicateUnusedColumnIsFine", csv("customer,meter,date,quantity,x,x\nc,m,2024-01-01,1,a,b\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "TooFewFields", csv(rows("c,m,2024-01-02\n")), ingest(), 1, "u.csv:3: has 3 fields, the header has 4", "u.h5"});
    add({c, "TooManyFields", csv(rows("c,m,2024-01-02,1,9\n")), ingest(), 1, "u.csv:3: has 5 fields, the header has 4", "u.h5"});
    add({c, "UnterminatedQuote", csv(rows("\"c,m,2024-01-02,1\n")), ingest(), 1, "u.csv:3: unterminated quoted field", "u.h5"});
    add({c, "TextAfterClosingQuote", csv(rows("\"c\"x,m,2024-01-02,1\n")), ingest(), 1,
         "u.csv:3: unexpected text after the closing quote of field 1", "u.h5"});
    add({c, "QuotedCommaInId", csv(rows("\"c,1\",m,2024-01-02,1\n")), ingest(), 0, "2 series", "u.h5"});
    add({c, "DoubledQuoteInId", csv(rows("\"c\"\"x\",m,2024-01-02,1\n")), ingest(), 0, "2 series", "u.h5"});
    add({c, "Utf8BomBeforeHeader", csv("\xEF\xBB\xBF" + rows("")), ingest(), 0, "1 series", "u.h5"});
    add({c, "CrlfLineEnds", csv("customer,meter,date,quantity\r\nc,m,2024-01-01,1\r\nc,m,2024-01-02,2\r\n"), ingest(), 0, "1 series x 2 steps",
         "u.h5"});
    add({c, "NoFinalNewline", csv(rows("c,m,2024-01-02,1")), ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "NulInHeader", csv(std::string("customer,meter\0,date,quantity\nc,m,2024-01-01,1\n", 46)), ingest(), 1, "missing column(s) 'meter'",
         "u.h5"});
    add({c, "QuotedLineBreakInUnusedColumn", csv("customer,meter,date,quantity,note\nc,m,2024-01-01,1,\"two\nlines\"\nc,m,2024-01-02,1,x\n"),
         ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "MapToMissingColumn", csv(rows("")), ingest(" --map date=D"), 1, "missing column(s) 'D' (for date, from --map)", "u.h5"});
    add({c, "MapWithoutEquals", csv(rows("")), ingest(" --map date"), 1, "--map 'date': expected field=column", "u.h5"});
    add({c, "MapUnknownField", csv(rows("")), ingest(" --map colour=customer"), 1, "--map 'colour=customer'", "u.h5"});
    add({c, "MapFieldTwice", csv(rows("")), ingest(" --map date=customer --map date=meter"), 1, "date is renamed twice", "u.h5"});
    add({c, "MapCompositeCustomer", csv("Name,Sub,meter,date,quantity\nn,s1,m,2024-01-01,1\nn,s2,m,2024-01-02,1\n"), ingest(" --map customer=Name+Sub"), 0,
         "2 series x 2 steps", "u.h5"});
    add({c, "MapCompositePartHoldsJoiner", csv("Name,Sub,meter,date,quantity\nn,s|1,m,2024-01-01,1\n"), ingest(" --map customer=Name+Sub"), 1,
         "u.csv:2: column 'Sub': 's|1' holds '|'", "u.h5"});
    add({c, "MapPriceToMissingColumn", csv(rows("")), ingest(" --map price=P"), 1, "missing column(s) 'P' (for price, from --map)", "u.h5"});
    add({c, "CsvIsADirectoryWithoutExports", make_dir("u.csv"), ingest(), 1, "u.csv: the directory holds no *.csv or *.csv.gz file", "u.h5"});
    add({c, "CsvFromStdin", csv(rows("c,m,2024-01-02,1\n")), "ingest --csv - --out u.h5 --threads 1", 0, "1 series x 2 steps", "u.h5", {}, "exec <u.csv && "});
    add({c, "InputsWithDifferentHeaders", files({{"u.csv", rows("")}, {"v.csv", "meter,customer,date,quantity\nm,c,2024-01-02,1\n"}}),
         ingest(" --csv v.csv"), 1, "v.csv: its header 'meter,customer,date,quantity' differs from the header 'customer,meter,date,quantity' of u.csv", "u.h5"});
    add({c, "InputNamedTwice", csv(rows("")), ingest(" --csv ./u.csv"), 1, "u.csv: the input is named more than once", "u.h5"});
    add({c, "GridSpanNamesTheInputs", files({{"u.csv", rows("")}, {"v.csv", kHeader + "c,m,2024-01-03,1\nc,m,2200-01-01,1\n"}}), ingest(" --csv v.csv"), 1,
         "2 files: u.csv .. v.csv: the rows span 2024-01-01 (u.csv:2) .. 2200-01-01 (v.csv:3)", "u.h5"});
    add({c, "SkipBadRejectsFileExists", files({{"u.csv", rows("c,m,2024-01-02,-1\n")}, {"u.h5.rejects.csv", "kept"}}), ingest(" --skip-bad"), 1,
         "u.h5.rejects.csv", "u.h5"});
    add({c, "PatternMatchingNothing", csv(rows("")), "ingest --csv 'nothing*.csv' --out u.h5 --threads 1", 1, "nothing*.csv: no file matches the pattern", "u.h5"});
    add({c, "CsvMissing", nullptr, ingest(), 1, "u.csv", "u.h5"});
    add({c, "LabelsBadField", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end\nc,m,2024-01-01,nope\n"}}),
         ingest(" --labels l.csv"), 1, "l.csv:2", "u.h5"});
    add({c, "LabelsUnknownSeries", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end\nzz,m,2024-01-01,2024-01-02\n"}}),
         ingest(" --labels l.csv"), 1, "l.csv:2", "u.h5"});
    add({c, "LabelsEndBeforeStart", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end\nc,m,2024-01-02,2024-01-01\n"}}),
         ingest(" --labels l.csv"), 1, "l.csv:2", "u.h5"});
    add({c, "LabelsMoreFieldsThanHeader", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end\nc,m,2024-01-01,2024-01-02,x\n"}}),
         ingest(" --labels l.csv"), 1, "l.csv:2", "u.h5"});
    add({c, "LabelsUnknownKind", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end,kind\nc,m,2024-01-01,2024-01-02,meteor\n"}}),
         ingest(" --labels l.csv"), 1, "meteor", "u.h5"});
    add({c, "LabelsUnknownVerdict",
         files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end,kind,verdict\nc,m,2024-01-01,2024-01-02,spike,maybe\n"}}),
         ingest(" --labels l.csv"), 1, "maybe", "u.h5"});
    add({c, "LabelsOutsideTheGrid", files({{"u.csv", rows("c,m,2024-01-02,1\n")}, {"l.csv", "customer,meter,start,end\nc,m,2025-01-01,2025-01-02\n"}}),
         ingest(" --labels l.csv"), 1, "l.csv:2", "u.h5"});
  }

  // 2. ingest dates ----------------------------------------------------------------------------------------------
  {
    const std::string c = "c02_ingest_dates";
    const std::string invalid = "u.csv:3: column 'date': invalid date '";
    const std::pair<const char*, const char*> bad[] = {
        {"Slashes", "2024/01/02"},      {"DayFirst", "02-01-2024"},     {"NoPadding", "2024-1-2"},       {"Compact", "20240102"},
        {"Empty", ""},                   {"LeadingSpace", " 2024-01-02"}, {"TrailingText", "2024-01-02x"}, {"Feb30", "2024-02-30"},
        {"Feb29NonLeap", "2023-02-29"},  {"Month13", "2024-13-01"},      {"Month0", "2024-00-10"},        {"Day32", "2024-01-32"},
        {"Year10000", "10000-01-01"},    {"NegativeYear", "-2024-01-01"}, {"Hour25", "2024-01-02T25:00:00"}, {"Minute60", "2024-01-02T10:60"},
        {"OffsetTimeZone", "2024-01-02T10:00:00+02:00"}, {"ZoneOnDate", "2024-01-02Z"}, {"NamedZone", "2024-01-02T10:00:00 CET"},
    };
    for (const auto& [name, date] : bad)
      add({c, name, csv(rows(std::string("c,m,") + date + ",1\n")), ingest(), 1, invalid + date + "'", "u.h5"});
    add({c, "UtcSuffixIsFine", csv(rows("c,m,2024-01-02T10:00:00Z,1\n")), ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "SpaceSeparatedTimeIsFine", csv(rows("c,m,2024-01-02 10:00:00,1\n")), ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "Feb29LeapIsFine", csv(rows("c,m,2024-02-29,1\n")), ingest(), 0, "1 series x 60 steps", "u.h5"});
    add({c, "FarFutureRefused", csv(rows("c,m,2200-01-01,1\n")), ingest(), 1,
         "the rows span 2024-01-01 (line 2) .. 2200-01-01 (line 3): 64284 steps of 1d, more than the default limit of 36525", "u.h5"});
    add({c, "FarFutureAllowedByMaxSteps", csv(rows("c,m,2200-01-01,1\n")), ingest(" --max-steps 64284"), 0, "64284 steps", "u.h5"});
    add({c, "FarFutureOneStepOverMaxSteps", csv(rows("c,m,2200-01-01,1\n")), ingest(" --max-steps 64283"), 1, "more than --max-steps 64283", "u.h5"});
    add({c, "Year0Refused", csv(rows("c,m,0000-01-01,1\n")), ingest(), 1, "0000-01-01 (line 3)", "u.h5"});
    add({c, "Year9999Refused", csv(rows("c,m,9999-12-31,1\n")), ingest(), 1, "9999-12-31 (line 3)", "u.h5"});
    add({c, "HourlyGridTooLong", csv(rows("c,m,2200-01-01T00:00,1\n")), ingest(" --step 1h"), 1, "more than the default limit of 876600", "u.h5"});
    add({c, "DateFormatUs", csv(kHeader + "c,m,12/31/2023,1\nc,m,1/2/2024,1\n"), ingest(" --date-format %m/%d/%Y"), 0,
         "1 series x 3 steps (2023-12-31 .. 2024-01-02)", "u.h5"});
    add({c, "DateFormatMismatch", csv(kHeader + "c,m,31.12.2023,1\nc,m,2024-01-02,1\n"), ingest(" --date-format %d.%m.%Y"), 1,
         "u.csv:3: column 'date': '2024-01-02' does not match --date-format '%d.%m.%Y' at character 3: expected a literal character", "u.h5"});
    add({c, "DateFormatUnsupported", csv(rows("")), ingest(" --date-format %d/%m/%y"), 1, "'%y' is not supported", "u.h5"});
    add({c, "StepNotDividingADay", csv(rows("")), ingest(" --step 7h"), 1, "--step 7h", "u.h5"});
    add({c, "StepGarbage", csv(rows("")), ingest(" --step fortnight"), 1, "fortnight", "u.h5"});
  }

  // 3. ingest numbers --------------------------------------------------------------------------------------------
  {
    const std::string c = "c03_ingest_numbers";
    const std::string at = "u.csv:3: column 'quantity'";
    struct Bad {
      const char* name;
      const char* value;
      const char* says;
      bool skippable;
    };
    const Bad bad[] = {
        {"Empty", "", " is empty", true},
        {"NaN", "NaN", ": 'NaN' is not a finite quantity", true},
        {"LowerNan", "nan", ": 'nan' is not a finite quantity", true},
        {"Inf", "inf", ": 'inf' is not a finite quantity", true},
        {"MinusInf", "-inf", ": '-inf' is not a finite quantity", true},
        {"Infinity", "Infinity", ": 'Infinity' is not a finite quantity", true},
        {"Exceeds", "1e39", ": '1e39' exceeds the largest quantity a dataset stores", true},
        {"JustPastFloat", "3.5e38", ": '3.5e38' exceeds the largest quantity", true},
        {"Negative", "-1", ": '-1' is a negative quantity", true},
        {"Hex", "0x10", ": '0x10' is not a number", false},
        {"LeadingSpace", " 5", ": ' 5' is not a number", false},
        {"TrailingSpace", "5 ", ": '5 ' is not a number", false},
        {"TwoPoints", "1.5.2", ": '1.5.2' is not a number", false},
        {"Word", "abc", ": 'abc' is not a number", false},
        {"PlusSign", "+5", ": '+5' is not a number", false},
        {"BareExponent", "1e", ": '1e' is not a number", false},
        {"HugeExponent", "1e99999", ": '1e99999' is out of range", true},
    };
    for (const auto& b : bad) {
      add({c, b.name, csv(rows(std::string("c,m,2024-01-02,") + b.value + "\n")), ingest(), 1, at + b.says, "u.h5"});
      // --skip-bad skips every unusable quantity, text that is not a number included (and counts them).
      add({c, std::string(b.name) + "_SkipBad", csv(rows(std::string("c,m,2024-01-02,") + b.value + "\nc,m,2024-01-03,2\n")),
           ingest(" --skip-bad"), 0, "1 skipped", "u.h5"});
    }
    add({c, "LargestFloatIsFine", csv(rows("c,m,2024-01-02,3.4e38\n")), ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "MinusZeroIsFine", csv(rows("c,m,2024-01-02,-0\n")), ingest(), 0, "1 series x 2 steps", "u.h5"});
    add({c, "SumPastFloat", csv(kHeader + "c,m,2024-01-01,3e38\nc,m,2024-01-01,3e38\nc,m,2024-01-02,1\n"), ingest(), 1,
         "the rows of customer 'c', meter 'm' on 2024-01-01 sum to 6e+38", "u.h5"});
    add({c, "EverythingSkipped", csv(kHeader + "c,m,2024-01-01,-1\n"), ingest(" --skip-bad"), 1, "every one of its 1 rows was skipped as bad", "u.h5"});
    add({c, "NegativePrice", csv("customer,meter,date,quantity,price\nc,m,2024-01-01,1,-2\n"), ingest(), 1, "u.csv:2: column 'price': '-2'", "u.h5"});
    add({c, "NanPrice", csv("customer,meter,date,quantity,price\nc,m,2024-01-01,1,nan\n"), ingest(), 1, "u.csv:2: column 'price': 'nan'", "u.h5"});
    add({c, "WordPrice", csv("customer,meter,date,quantity,price\nc,m,2024-01-01,1,free\n"), ingest(), 1, "u.csv:2: column 'price': 'free'", "u.h5"});
  }

  // 4. ingest ids ------------------------------------------------------------------------------------------------
  {
    const std::string c = "c04_ingest_ids";
    add({c, "NulInCustomer", csv(kHeader + std::string("c\0x,m,2024-01-01,1\n", 19)), ingest(), 1,
         "u.csv:2: column 'customer': the id 'c\\x00x' holds the control character \\x00 at byte 2", "u.h5"});
    add({c, "NulAtEndOfMeter", csv(kHeader + std::string("c,m\0,2024-01-01,1\n", 18)), ingest(), 1, "column 'meter': the id 'm\\x00'", "u.h5"});
    add({c, "TabInCustomer", csv(kHeader + "c\tx,m,2024-01-01,1\n"), ingest(), 1, "control character \\x09 at byte 2", "u.h5"});
    add({c, "EscapeInCustomer", csv(kHeader + "c\x1bx,m,2024-01-01,1\n"), ingest(), 1, "control character \\x1B", "u.h5"});
    add({c, "DeleteInCustomer", csv(kHeader + "c\x7fx,m,2024-01-01,1\n"), ingest(), 1, "control character \\x7F", "u.h5"});
    add({c, "QuotedCarriageReturn", csv(kHeader + "\"c\rx\",m,2024-01-01,1\n"), ingest(), 1, "control character \\x0D", "u.h5"});
    add({c, "QuotedLineBreak", csv(kHeader + "\"c\nx\",m,2024-01-01,1\n"), ingest(), 1, "u.csv:2: column 'customer'", "u.h5"});
    add({c, "Customer63Bytes", csv(kHeader + repeat('a', 63) + ",m,2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "Customer64Bytes", csv(kHeader + repeat('a', 64) + ",m,2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});  // ids have any length
    add({c, "Customer100kBytes", csv(kHeader + repeat('a', 100000) + ",m,2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "Meter63Bytes", csv(kHeader + "c," + repeat('b', 63) + ",2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "Meter64Bytes", csv(kHeader + "c," + repeat('b', 64) + ",2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "Utf8Making64Bytes", csv(kHeader + repeat('a', 62) + "\xC3\xA9,m,2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "Utf8Within63Bytes", csv(kHeader + "caf\xC3\xA9,m,2024-01-01,1\n"), ingest(), 0, "1 series", "u.h5"});
    add({c, "EmptyCustomer", csv(kHeader + ",m,2024-01-01,1\n"), ingest(), 1, "u.csv:2: column 'customer': the id is empty", "u.h5"});
    add({c, "EmptyMeter", csv(kHeader + "c,,2024-01-01,1\n"), ingest(), 1, "u.csv:2: column 'meter': the id is empty", "u.h5"});
    add({c, "QuotedEmptyCustomer", csv(kHeader + "\"\",m,2024-01-01,1\n"), ingest(), 1, "column 'customer': the id is empty", "u.h5"});
    add({c, "BadIdOnALaterLine", csv(rows("c,m,2024-01-02,1\nc,m,2024-01-03,1\nc\x01,m,2024-01-04,1\n")), ingest(), 1, "u.csv:5: column 'customer'",
         "u.h5"});
  }

  // 5. scenario files --------------------------------------------------------------------------------------------
  {
    const std::string c = "c05_scenario";
    add({c, "Valid", toml(scenario()), generate(), 0, "generated g.h5: 4 series x 60 steps", "g.h5"});
    add({c, "EmptyFile", toml(""), generate(), 1, "s.toml: the [population] table is missing", "g.h5"});
    add({c, "Missing", nullptr, generate(), 1, "cannot read scenario file 's.toml'", "g.h5"});
    // Named as a directory (it used to be read as an empty scenario: "the [population] table is missing").
    add({c, "IsADirectory", make_dir("s.toml"), generate(), 1, "s.toml: is a directory", "g.h5"});
    add({c, "UnknownKey", toml(scenario("", "colour = 3\n")), generate(), 1, "s.toml:7: unknown key 'population.colour'", "g.h5"});
    add({c, "UnknownTable", toml(scenario("", "[nonsense]\nx = 1\n")), generate(), 1, "s.toml:7: unknown key 'nonsense'", "g.h5"});
    add({c, "UnknownInjection", toml(scenario("", "[injections.meteor]\nrate = 1\n")), generate(), 1, "unknown key 'injections.meteor'", "g.h5"});
    add({c, "UnknownInjectionKey", toml(scenario("", "[injections.spike]\nrate = 1\nlength = [1, 3]\nsize = [4, 10]\nflavour = 2\n")), generate(),
         1, "unknown key 'injections.spike.flavour'", "g.h5"});
    add({c, "SeriesZero", toml(scenario("series = 0")), generate(), 1, "s.toml:2: key 'population.series': value 0 is out of range [1, 1000000000]",
         "g.h5"});
    add({c, "SeriesNegative", toml(scenario("series = -4")), generate(), 1, "value -4 is out of range", "g.h5"});
    add({c, "SeriesHuge", toml(scenario("series = 99999999999999")), generate(), 1, "value 99999999999999 is out of range", "g.h5"});
    add({c, "SeriesPast64Bits", toml(scenario("series = 99999999999999999999999")), generate(), 1, "s.toml:2", "g.h5"});
    add({c, "SeriesString", toml(scenario("series = \"four\"")), generate(), 1, "key 'population.series': must be an integer", "g.h5"});
    add({c, "SeriesFloat", toml(scenario("series = 4.5")), generate(), 1, "key 'population.series': must be an integer", "g.h5"});
    add({c, "DaysZero", toml(scenario("days = 0")), generate(), 1, "key 'population.days': value 0 is out of range", "g.h5"});
    add({c, "DaysHuge", toml(scenario("days = 99999999999")), generate(), 1, "key 'population.days'", "g.h5"});
    add({c, "MaximalSizeNeedsTooMuchDisk", toml(replaced_text(scenario("series = 1000000000"), "days = 60", "days = 36600")),
         generate(), 1, "needs about", "g.h5"});
    add({c, "StepNotAString", toml(scenario("step = 1")), generate(), 1, "key 'population.step': must be a string", "g.h5"});
    add({c, "StepGarbage", toml(scenario("step = \"often\"")), generate(), 1, "often", "g.h5"});
    add({c, "StartImpossible", toml(scenario("start = \"2024-02-30\"")), generate(), 1, "s.toml:4: key 'population.start': invalid date '2024-02-30'",
         "g.h5"});
    add({c, "SeedNegative", toml(scenario("seed = -1")), generate(), 1, "key 'population.seed': value -1 is out of range", "g.h5"});
    add({c, "NegativeRate", toml(scenario("", "[injections.spike]\nrate = -1\nlength = [1, 3]\nsize = [4, 10]\n")), generate(), 1,
         "key 'injections.spike.rate': value -1 is out of range", "g.h5"});
    add({c, "LengthReversed", toml(scenario("", "[injections.spike]\nrate = 1\nlength = [3, 1]\nsize = [4, 10]\n")), generate(), 1,
         "key 'injections.spike.length': min 3 is greater than max 1", "g.h5"});
    add({c, "LengthThreeValues", toml(scenario("", "[injections.spike]\nrate = 1\nlength = [1, 2, 3]\nsize = [4, 10]\n")), generate(), 1,
         "injections.spike.length", "g.h5"});
    add({c, "LevelReversed", toml(scenario("", "[level]\nmin = 10.0\nmax = 1.0\n")), generate(), 1, "key 'level.min': min 10 is greater than max 1",
         "g.h5"});
    add({c, "LevelNan", toml(scenario("", "[level]\nmin = nan\nmax = 1.0\n")), generate(), 1, "key 'level.min': value nan is out of range", "g.h5"});
    add({c, "LevelInf", toml(scenario("", "[level]\nmin = 1.0\nmax = inf\n")), generate(), 1, "key 'level.max'", "g.h5"});
    add({c, "FloatPastDouble", toml(scenario("", "[price]\nmin = 1e400\n")), generate(), 1, "s.toml:8", "g.h5"});
    add({c, "NoiseWeightString", toml(scenario("", "[noise]\ngaussian = \"x\"\n")), generate(), 1, "key 'noise.gaussian': must be a number", "g.h5"});
    add({c, "AllProfilesZero",
         toml(scenario("", "[profiles]\nsteady = 0\ngrowing = 0\nweekly = 0\nyearly = 0\nintermittent = 0\nheavy_tailed = 0\n")), generate(), 1,
         "table 'profiles': at least one weight must be positive", "g.h5"});
    add({c, "ProfileNegative", toml(scenario("", "[profiles]\nsteady = -1\n")), generate(), 1, "key 'profiles.steady': value -1 is out of range",
         "g.h5"});
    add({c, "NonAsciiKey", toml(scenario("", "caf\xC3\xA9 = 1\n")), generate(), 1,
         "s.toml:7: a non-ASCII character outside a comment", "g.h5"});
    add({c, "NonAsciiBareValue", toml(scenario("", "[level]\nmin = 1\xC2\xA0\n")), generate(), 1, "s.toml:8: a non-ASCII character", "g.h5"});
    add({c, "InvalidUtf8OutsideString", toml(scenario("", "\xFF\xFE = 1\n")), generate(), 1, "s.toml:7", "g.h5"});
    add({c, "NonAsciiInCommentIsFine", toml(scenario("", "# caf\xC3\xA9\n")), generate(), 0, "generated g.h5", "g.h5"});
    add({c, "NonAsciiInString", toml(scenario("start = \"2024-01-01\xC3\xA9\"")), generate(), 1, "a non-ASCII character outside a comment", "g.h5"});
    add({c, "NulByte", toml(scenario("", std::string("\0\n", 2))), generate(), 1, "s.toml:7: TOML syntax error", "g.h5"});
    add({c, "UnclosedTable", toml(scenario("", "[population\n")), generate(), 1, "s.toml:7: TOML syntax error", "g.h5"});
    add({c, "RedefinedKey", toml(scenario("", "seed = 6\n")), generate(), 1, "cannot redefine existing integer 'seed'", "g.h5"});
    add({c, "DeepNesting", toml(scenario("", "x = " + std::string(5000, '[') + std::string(5000, ']') + "\n")), generate(), 1, "s.toml", "g.h5"});
    add({c, "SeriesOverrideOutOfRange", toml(scenario()), generate(" --series 1000000001"), 1, "series must be between 1 and 1000000000", "g.h5"});
    add({c, "DaysOverrideNegative", toml(scenario()), generate(" --days -1"), 1, "days must be between 1 and 36600, got -1", "g.h5"});
  }

  // 6. CLI values ------------------------------------------------------------------------------------------------
  {
    const std::string c = "c06_cli_values";
    const std::string bt = "backtest --data DATA --out run --threads 1 --no-baseline";
    const std::string bt_any_threads = "backtest --data DATA --out run --no-baseline";
    const std::string det = "detect --data DATA --out f.csv --threads 1";
    const std::string sw = "sweep --data DATA --out sw --threads 1 --no-baseline";
    const Setup sc = toml(scenario());
    add({c, "SeedNegative", sc, generate(" --seed -1"), kUsage, "--seed: '-1' is not an integer in [0, 18446744073709551615]", "g.h5"});
    add({c, "SeedMinusZero", sc, generate(" --seed -0"), kUsage, "--seed: '-0' is not an integer", "g.h5"});
    add({c, "SeedPast64Bits", sc, generate(" --seed 18446744073709551616"), kUsage, "--seed: '18446744073709551616'", "g.h5"});
    add({c, "SeedExponent", sc, generate(" --seed 1e3"), kUsage, "--seed: '1e3'", "g.h5"});
    add({c, "SeedHex", sc, generate(" --seed 0x10"), kUsage, "--seed: '0x10'", "g.h5"});
    add({c, "SeedLeadingZeroIsDecimal", sc, generate(" --seed 010"), 0, "seed 10,", "g.h5"});
    add({c, "SeedLargest", sc, generate(" --seed 18446744073709551615"), 0, "generated g.h5", "g.h5"});
    add({c, "ThreadsZero", nullptr, bt_any_threads + " --threads 0", 1, "--threads must be between 1 and 1024, got 0", "run"});
    add({c, "ThreadsNegative", nullptr, bt_any_threads + " --threads -1", 1, "--threads must be between 1 and 1024, got -1", "run"});
    add({c, "ThreadsTooMany", nullptr, bt_any_threads + " --threads 1025", 1, "--threads must be between 1 and 1024, got 1025", "run"});
    add({c, "ThreadsPast32Bits", nullptr, "detect --data DATA --out f.csv --threads 4294967297", kUsage, "--threads: '4294967297' is not an integer", "f.csv"});
    add({c, "ThreadsWord", nullptr, "detect --data DATA --out f.csv --threads many", kUsage, "--threads: 'many'", "f.csv"});
    add({c, "BlockNegative", nullptr, bt + " --block -5", 1, "--block must be >= 0, got -5", "run"});
    add({c, "BlockPast64Bits", nullptr, det + " --block 99999999999999999999", kUsage, "--block: '99999999999999999999'", "f.csv"});
    add({c, "ChunkNegative", sc, generate(" --chunk -1"), 1, "--chunk must be >= 0, got -1", "g.h5"});
    add({c, "CompressTen", sc, generate(" --compress 10"), kUsage, "--compress: '10' is not an integer in [0, 9]", "g.h5"});
    add({c, "CompressOctal", sc, generate(" --compress 010"), kUsage, "--compress: '010'", "g.h5"});
    add({c, "SeriesPast64Bits", sc, generate(" --series 9223372036854775808"), kUsage, "--series: '9223372036854775808'", "g.h5"});
    add({c, "WeeksZero", nullptr, bt + " --schedule weekly --weeks 0", 1, "--weeks must be at least 1, got 0", "run"});
    add({c, "WeeksNegative", nullptr, bt + " --schedule weekly --weeks -1", 1, "--weeks must be at least 1, got -1", "run"});
    add({c, "WeeksBeyondTheData", nullptr, bt + " --schedule weekly --weeks 1000", 1, "--weeks 1000 leaves no history to fit on", "run"});
    add({c, "WeeksLargestInt", nullptr, bt + " --schedule weekly --weeks 9223372036854775807", 1, "--weeks 9223372036854775807", "run"});
    add({c, "WeeksPast64Bits", nullptr, bt + " --schedule weekly --weeks 99999999999999999999", kUsage, "--weeks: '99999999999999999999'", "run"});
    add({c, "UnknownSchedule", nullptr, bt + " --schedule daily", 1, "unknown schedule 'daily'", "run"});
    add({c, "UnknownModel", nullptr, bt + " --model prophet", 1, "unknown model 'prophet'", "run"});
    add({c, "UnknownParameter", nullptr, bt + " --set colour=red", 1, "gam: unknown parameter 'colour'", "run"});
    add({c, "SetWithoutValue", nullptr, bt + " --set z", 1, "gam: setting 'z' is not of the form name=value", "run"});
    add({c, "SetWithoutName", nullptr, bt + " --set =3", 1, "gam: setting '=3' is not of the form name=value", "run"});
    add({c, "SetTwice", nullptr, bt + " --set z=1 --set z=2", 1, "gam: parameter 'z' is set twice", "run"});
    add({c, "ExclusiveZAndWidth", nullptr, bt + " --set z=1 --set width=0.9", 1, "gam: set either 'z' or 'width', not both", "run"});
    add({c, "ValueNotANumber", nullptr, bt + " --set z=abc", 1, "gam: parameter 'z' has value 'abc', which is not a number", "run"});
    add({c, "ValueNan", nullptr, bt + " --set z=nan", 1, "parameter 'z' has value 'nan'", "run"});
    add({c, "ValueInf", nullptr, bt + " --set z=inf", 1, "parameter 'z' has value 'inf'", "run"});
    add({c, "ValueOutOfRange", nullptr, bt + " --set changepoints=201", 1, "parameter 'changepoints' has value '201', out of range", "run"});
    add({c, "IntegerParameterGivenAFraction", nullptr, bt + " --set changepoints=2.5", 1, "'changepoints' has value '2.5', which is not an integer",
         "run"});
    add({c, "UnknownChoice", nullptr, bt + " --set loss=cubic", 1, "parameter 'loss' has value 'cubic' (expected one of huber, bisquare, squared)",
         "run"});
    add({c, "RandomSeedPast2To53", nullptr, bt + " --model random --set seed=9007199254740992", 1, "random: parameter 'seed' has value '9007199254740992'",
         "run"});
    add({c, "RandomFlagRateZero", nullptr, bt + " --model random --set flag_rate=0", 1, "parameter 'flag_rate' has value '0'", "run"});
    add({c, "SeasonalMadHistoryOverWeeks", nullptr, bt + " --model seasonal-mad --set min_history=20 --set weeks=4", 1,
         "seasonal-mad: parameter 'min_history' (20) must not exceed 'weeks' (4)", "run"});
    add({c, "StlEsdEvenWindow", nullptr, bt + " --model stl-esd --set seasonal_window=4", 1, "parameter 'seasonal_window' has value '4'", "run"});
    add({c, "MinImpactNegative", nullptr, bt + " --min-impact -1", 1, "--min-impact must be >= 0 USD, got -1", "run"});
    add({c, "MinImpactNan", nullptr, bt + " --min-impact nan", 1, "--min-impact must be >= 0 USD, got nan", "run"});
    add({c, "MinImpactPastDouble", nullptr, bt + " --min-impact 1e400", 1, "impact", "run"});
    add({c, "DelayToleranceNegative", nullptr, bt + " --delay-tolerance -1", 1, "-1", "run"});
    add({c, "DelayToleranceNan", nullptr, bt + " --delay-tolerance nan", 1, "nan", "run"});
    add({c, "DelayToleranceInf", nullptr, bt + " --delay-tolerance inf", 1, "inf", "run"});
    add({c, "DelayToleranceHuge", nullptr, bt + " --delay-tolerance 1e300", 1, "1e+300", "run"});
    add({c, "BaselineSeriesNegative", nullptr, "backtest --data DATA --out run --threads 1 --baseline-series -1", 1,
         "--baseline-series must be >= 0, got -1", "run"});
    add({c, "LastNegative", nullptr, det + " --last -30", 1, "--last must be >= 0 days, got -30", "f.csv"});
    add({c, "GridZ", nullptr, sw + " --grid z=1,2", 1, "--grid 'z=1,2': 'z' cannot be swept", "sw"});
    add({c, "GridRepeatedValue", nullptr, sw + " --grid changepoints=1,1", 1, "value '1' of 'changepoints' is repeated", "sw"});
    add({c, "GridEmptyValue", nullptr, sw + " --grid changepoints=", 1, "empty value for 'changepoints'", "sw"});
    add({c, "GridUnknownParameter", nullptr, sw + " --grid colour=1,2", 1, "unknown parameter 'colour' of gam", "sw"});
    add({c, "GridKeyTwice", nullptr, sw + " --grid changepoints=1,2 --grid changepoints=3", 1, "parameter 'changepoints' is given by two --grid options",
         "sw"});
    add({c, "GridAlsoSet", nullptr, sw + " --grid changepoints=1,2 --set changepoints=3", 1, "is also fixed by --set changepoints=3", "sw"});
    add({c, "GridValueOutOfRange", nullptr, sw + " --grid changepoints=1,999", 1, "parameter 'changepoints' has value '999', out of range", "sw"});
    add({c, "UnknownObjective", nullptr, sw + " --grid changepoints=1,2 --objective magic", 1, "unknown objective 'magic'", "sw"});
    add({c, "BudgetNegative", nullptr, sw + " --grid changepoints=1,2 --budget -1", 1, "--budget must be a finite number >= 0", "sw"});
    add({c, "BudgetNan", nullptr, sw + " --grid changepoints=1,2 --budget nan", 1, "got nan", "sw"});
    add({c, "MaxMinutesNegative", nullptr, sw + " --grid changepoints=1,2 --max-minutes -1", 1, "--max-minutes must be >= 0", "sw"});
    add({c, "UnknownLogLevel", nullptr, det + " --log-level loud", kUsage, "--log-level: loud not in", "f.csv"});
    add({c, "UnknownOption", nullptr, det + " --bogus", kUsage, "--bogus", "f.csv"});
    add({c, "MemoryBudgetNegative", csv(rows("")), ingest(" --memory-budget-mib -1"), kUsage, "--memory-budget-mib: '-1'", "u.h5"});
    add({c, "MaxStepsZero", csv(rows("")), ingest(" --max-steps 0"), kUsage, "--max-steps: '0'", "u.h5"});
    // Every subcommand takes --threads and --log-level (docs/cli.md, "Options every subcommand takes").
    add({c, "ModelsTakesLogLevel", nullptr, "models --log-level warn", 0, "seasonal-mad", ""});
    add({c, "ModelsTakesThreads", nullptr, "models --threads 1", 0, "seasonal-mad", ""});
  }

  // 7. disk full (a file size limit; SIGXFSZ ignored, so writes fail with EFBIG as with ENOSPC) -----------------------
  {
    const std::string c = "c07_disk_full";
    const std::string limit = "trap '' XFSZ; ulimit -f 16; ";  // 16 blocks: 8 KiB under dash, 16 KiB under bash
    const std::string reason = "File too large";
    const Setup sc = toml(testing::small_scenario(400, 400));
    add({c, "Generate", sc, generate(), 1, reason, "g.h5", {}, limit});
    add({c, "GenerateCompressed", sc, generate(" --compress 6"), 1, reason, "g.h5", {}, limit});
    add({c, "GenerateOverAnExistingOutput", both(sc, files({{"g.h5", "old"}})), generate(" --force"), 1, reason, "g.h5", {}, limit});
    add({c, "Ingest", csv(big_csv(60, 300)), ingest(), 1, reason, "u.h5", {}, limit});
    add({c, "BacktestSaveBands", nullptr, "backtest --data BIG --out run --threads 1 --no-baseline --no-alerts --save-bands", 1, reason, "run", {},
         "trap '' XFSZ; ulimit -f 512; "});
    add({c, "BacktestAlerts", nullptr, "backtest --data BIG --out run --threads 1 --no-baseline --set z=0.5 --min-impact 0", 1, reason, "run", {}, limit});
    add({c, "Detect", nullptr, "detect --data BIG --out f.csv --threads 1 --set z=0.5 --min-impact 0", 1, "cannot write '", "f.csv", {}, limit});
    add({c, "DetectNamesTheReason", nullptr, "detect --data BIG --out f.csv --threads 1 --set z=0.5 --min-impact 0", 1, reason, "f.csv", {}, limit});
    add({c, "Sweep", nullptr, "sweep --data DATA --out sw --threads 1 --no-baseline --grid changepoints=1,2,3,4,5,6", 1, reason, "sw", {},
         "trap '' XFSZ; ulimit -f 4; "});
  }

  // 8. corrupt and foreign HDF5 (read by detect: the cheapest reader) ----------------------------------------------
  {
    const std::string c = "c08_corrupt_hdf5";
    const std::string det = "detect --data d.h5 --out f.csv --threads 1";
    add({c, "Intact", copy_data(), det, 0, "24 series", "f.csv"});
    add({c, "TextFile", files({{"d.h5", "hello"}}), det, 1, "d.h5: not an HDF5 file", "f.csv"});
    add({c, "EmptyFile", files({{"d.h5", ""}}), det, 1, "d.h5", "f.csv"});
    add({c, "Directory", make_dir("d.h5"), det, 1, "d.h5: is a directory, not a dataset file", "f.csv"});
    add({c, "Missing", nullptr, det, 1, "d.h5: no such file", "f.csv"});
    add({c, "PlainHdf5", plain_hdf5(true), det, 1, "d.h5: attribute 'format_version' is missing", "f.csv"});
    add({c, "PlainHdf5Unchecksummed", plain_hdf5(false), det, 1, "d.h5", "f.csv"});
    add({c, "DatasetInUnchecksummedFormat", unchecksummed_copy(), det, 1, "d.h5", "f.csv"});
    for (const std::int64_t size : {std::int64_t{8}, std::int64_t{512}, std::int64_t{4096}, std::int64_t{-1}, std::int64_t{-4096}})
      add({c, "TruncatedTo" + (size < 0 ? "EndMinus" + std::to_string(-size) : std::to_string(size)), in_data(truncate_to(size)), det, 1, "d.h5",
           "f.csv"});
    // Metadata (superblock, object headers, chunk indexes) carry checksums: refused. Raw data does not: a flip
    // there may still read as a valid value, so either outcome is correct, but never a crash.
    for (const std::int64_t at : {std::int64_t{0}, std::int64_t{9}, std::int64_t{20}, std::int64_t{44}})
      add({c, "FlippedSuperblockByte" + std::to_string(at), in_data(flip_byte(at)), det, 1, "d.h5", "f.csv"});
    // The root group's object header (its attributes): the damage is named, not taken for a foreign file.
    for (const std::int64_t at : {std::int64_t{100}, std::int64_t{300}, std::int64_t{700}})
      add({c, "FlippedRootHeaderByte" + std::to_string(at), in_data(flip_byte(at)), det, 1, "d.h5: cannot read the attributes", "f.csv"});
    add({c, "FlippedValuesHeaderByte1500", in_data(flip_byte(1500)), det, 1, "d.h5: values: incorrect metadata checksum", "f.csv"});
    for (const std::int64_t at : {std::int64_t{3000},
                                  std::int64_t{1} << 40, std::int64_t{-1}, std::int64_t{-200}, std::int64_t{-2000}})
      add({c, "FlippedByte" + (at < 0 ? "EndMinus" + std::to_string(-at) : at >= (std::int64_t{1} << 40) ? std::string("Middle") : std::to_string(at)),
           in_data(flip_byte(at)), det, kZeroOrOne, "d.h5", ""});
    add({c, "ValueNegative", in_data(set_value(3, 7, -1.0f)), det, 1, "-1", "f.csv"});
    add({c, "ValueInf", in_data(set_value(3, 7, std::numeric_limits<float>::infinity())), det, 1, "inf", "f.csv"});
    add({c, "ValueMinusInf", in_data(set_value(0, 0, -std::numeric_limits<float>::infinity())), det, 1, "-inf", "f.csv"});
    add({c, "ValueNegativeInBacktest", in_data(set_value(23, 119, -5.0f)), "backtest --data d.h5 --out run --threads 1", 1, "-5", "run"});
    add({c, "ValueNegativeInSweep", in_data(set_value(23, 119, -5.0f)), "sweep --data d.h5 --out sw --threads 1 --grid changepoints=1,2", 1, "-5",
         "sw"});
    add({c, "LabelCode14", in_data(set_label(2, 5, 14)), "backtest --data d.h5 --out run --threads 1", 1, "14", "run"});
    add({c, "LabelCode255", in_data(set_label(0, 0, 255)), "backtest --data d.h5 --out run --threads 1", 1, "255", "run"});
    add({c, "PriceNegative", in_data(series_member<double>(3, "price_per_unit", -2.0)), det, 1, "price_per_unit", "f.csv"});
    add({c, "PriceInf", in_data(series_member<double>(3, "price_per_unit", std::numeric_limits<double>::infinity())), det, 1, "price_per_unit", "f.csv"});
    add({c, "NoiseScaleNegative", in_data(series_member<double>(5, "noise_scale", -1.0)), det, 1, "noise_scale", "f.csv"});
    add({c, "ProfileCode9", in_data(series_member<std::uint8_t>(1, "profile", 9)), det, 1, "profile", "f.csv"});
    add({c, "DuplicateIds", in_data(copy_ids(0, 4)), det, 1, "series 0 and 4 have the same customer id", "f.csv"});
    add({c, "IdWithALineBreak", in_data(series_text_cell(6, "\n")), det, 1, "the customer id of series 3 holds the control character \\x0A", "f.csv"});
    add({c, "TextOffsetPastTheText", in_data(text_offset(5, 1u << 30)), det, 1, "/series_text_offsets row 5: 1073741824 is past the text", "f.csv"});
    add({c, "TextOffsetsBackwards", in_data(text_offset(5, 0)), det, 1, "/series_text_offsets row 5: 0 is below the previous one", "f.csv"});
    add({c, "FirstEventPastTheTable", in_data(series_member<std::uint64_t>(23, "first_event", 1000000)), det, 1, "first_event", "f.csv"});
    add({c, "FirstEventPastTheTableInBacktest", in_data(series_member<std::uint64_t>(23, "first_event", 1000000)), "backtest --data d.h5 --out run --threads 1", 1,
         "first_event", "run"});
    add({c, "FirstEventPastTheTableInSweep", in_data(series_member<std::uint64_t>(23, "first_event", 1000000)),
         "sweep --data d.h5 --out sw --threads 1 --grid changepoints=1,2", 1, "first_event", "sw"});
    add({c, "EventCountHuge", in_data(series_member<std::uint32_t>(0, "event_count", 4000000000u)), det, 1, "event_count", "f.csv"});
    add({c, "FirstEventHuge", in_data(series_member<std::uint64_t>(0, "first_event", ~std::uint64_t{0})), det, 1, "first_event", "f.csv"});
    add({c, "EventStartAfterEnd", in_data(event_member<std::int64_t>(0, "start", 100)), "backtest --data d.h5 --out run --threads 1", 1, "events", "run"});
    add({c, "EventStartNegative", in_data(event_member<std::int64_t>(0, "start", -5)), "backtest --data d.h5 --out run --threads 1", 1, "-5", "run"});
    add({c, "EventEffectEndPastSeries", in_data(event_member<std::int64_t>(0, "effect_end", 120)), "backtest --data d.h5 --out run --threads 1", 1, "120", "run"});
    add({c, "EventKind14", in_data(event_member<std::uint8_t>(0, "kind", 14)), "backtest --data d.h5 --out run --threads 1", 1, "kind", "run"});
    add({c, "EventOfAnotherSeries", in_data(event_member<std::uint64_t>(0, "series", 7)), "backtest --data d.h5 --out run --threads 1", 1, "series", "run"});
    add({c, "EventImpactNegative", in_data(event_member<double>(0, "impact_usd", -1.0)), "backtest --data d.h5 --out run --threads 1", 1, "impact_usd",
         "run"});
    add({c, "EventSizeInf", in_data(event_member<double>(0, "size_sigma", std::numeric_limits<double>::infinity())),
         "backtest --data d.h5 --out run --threads 1", 1, "size_sigma", "run"});
    // report reads bands.h5 (format meterbench-bands): damaged, it is refused and no page is written.
    add({c, "ReportBandsTruncated", run_with_bands([](const fs::path& bands) { fs::resize_file(bands, fs::file_size(bands) / 2); }),
         "report run --data d.h5", 1, "bands.h5", "run/report.html"});
    add({c, "ReportBandsText", run_with_bands([](const fs::path& bands) { write_file(bands, "not hdf5"); }), "report run --data d.h5", 1,
         "bands.h5", "run/report.html"});
    add({c, "SeriesCountTooLarge", in_data(int_attribute("series_count", 25)), det, 1, "dataset /values has shape 24x120, expected 25x120", "f.csv"});
    add({c, "SeriesCountZero", in_data(int_attribute("series_count", 0)), det, 1, "series_count", "f.csv"});
    add({c, "SeriesCountNegative", in_data(int_attribute("series_count", -1)), det, 1, "series_count", "f.csv"});
    add({c, "StepsTooLarge", in_data(int_attribute("steps", 121)), det, 1, "dataset /values has shape 24x120, expected 24x121", "f.csv"});
    add({c, "StepSecondsDisagrees", in_data(int_attribute("step_seconds", 3600)), det, 1, "step_seconds", "f.csv"});
    add({c, "StepSecondsZero", in_data(int_attribute("step_seconds", 0)), det, 1, "step", "f.csv"});
    add({c, "StartUnixDisagrees", in_data(int_attribute("start_unix_seconds", 12345)), det, 1, "start_unix_seconds", "f.csv"});
    add({c, "StartNotADate", in_data(string_attribute("start", "2024-02-30")), det, 1, "2024-02-30", "f.csv"});
    add({c, "StepGarbage", in_data(string_attribute("step", "often")), det, 1, "often", "f.csv"});
    add({c, "FormatForeign", in_data(string_attribute("format", "something-else")), det, 1, "not a meterbench dataset", "f.csv"});
    add({c, "FormatVersionFuture", in_data(int_attribute("format_version", 4)), det, 1, "dataset format version 4 is not supported", "f.csv"});
    add({c, "FormatVersionTwo", in_data(int_attribute("format_version", 2)), det, 1, "dataset format version 2 (ids in fixed 64-byte fields) is no longer read", "f.csv"});
    add({c, "FormatVersionZero", in_data(int_attribute("format_version", 0)), det, 1, "dataset format version 0 is not supported", "f.csv"});
    add({c, "HasLabelsTwo", in_data(int_attribute("has_labels", 2)), det, 1, "attribute 'has_labels' is 2, expected 0 or 1", "f.csv"});
    add({c, "VariableLengthStartAttribute", in_data(vlen_string_attribute("start", "2024-01-01")), det, 1, "start", "f.csv"});
    add({c, "MissingValues", in_data(delete_object("values")), det, 1, "values", "f.csv"});
    add({c, "MissingSeriesTable", in_data(delete_object("series")), det, 1, "series", "f.csv"});
    add({c, "MissingEventsWithLabels", in_data(delete_object("events")), "backtest --data d.h5 --out run --threads 1", 1, "events", "run"});
    add({c, "MissingStartAttribute", in_data(delete_object("start")), det, 1, "start", "f.csv"});
  }

  // 9. output paths ------------------------------------------------------------------------------------------------
  {
    const std::string c = "c09_output_paths";
    const std::string bt = "backtest --data d.h5 --threads 1 --no-baseline";
    const std::string det = "detect --data d.h5 --threads 1";
    const Setup data = copy_data();
    const Setup keep = files({{"precious.txt", "keep"}});
    add({c, "CurrentDirectory", both(data, keep), bt + " --out . --force", 1, "is a directory meterbench must not replace", ""});
    add({c, "CurrentDirectorySlash", both(data, keep), bt + " --out ./ --force", 1, "is a directory meterbench must not replace", ""});
    add({c, "ParentDirectory", both(both(data, keep), make_dir("sub")), "backtest --data ../d.h5 --threads 1 --no-baseline --out .. --force", 1,
         "is a directory meterbench must not replace", "", {}, "", "sub"});
    add({c, "Root", data, bt + " --out / --force", 1, "'/'", ""});
    add({c, "DetectIntoRoot", data, det + " --out / --force", 1, "'/'", ""});
    add({c, "TheInputItself", data, det + " --out d.h5 --force", 1, "output 'd.h5' is the input 'd.h5'", ""});
    add({c, "TheInputDotSlash", data, det + " --out ./d.h5 --force", 1, "output './d.h5' is the input 'd.h5'", ""});
    add({c, "HardLinkToTheInput", both(data, hard_link("d.h5", "alias.h5")), det + " --out alias.h5 --force", 1, "output 'alias.h5' is the input",
         ""});
    add({c, "SymlinkToTheInput", both(data, sym_link("d.h5", "link.h5")), det + " --out link.h5 --force", 1, "is the input", ""});
    add({c, "GenerateOverItsScenario", toml(scenario()), "generate --scenario s.toml --out s.toml --force --threads 1", 1,
         "output 's.toml' is the input 's.toml'", ""});
    add({c, "IngestOverItsCsv", csv(rows("")), "ingest --csv u.csv --out u.csv --force --threads 1", 1, "output 'u.csv' is the input 'u.csv'", ""});
    add({c, "IngestOverItsLabels", files({{"u.csv", rows("")}, {"l.csv", "customer,meter,start,end\n"}}),
         "ingest --csv u.csv --labels l.csv --out l.csv --force --threads 1", 1, "is the input", ""});
    add({c, "RunDirectoryHoldingTheInput", both(files({{"run/.meterbench-output", ""}}), copy_data("run/in.h5")),
         "backtest --data run/in.h5 --threads 1 --no-baseline --out run --force", 1, "output 'run' contains the input 'run/in.h5'", ""});
    add({c, "ForeignDirectory", both(data, files({{"photos/cat.jpg", "meow"}})), bt + " --out photos --force", 1,
         "is a directory meterbench did not write", ""});
    add({c, "DirectoryOverAFile", both(data, files({{"file", "a file"}})), bt + " --out file --force", 1, "is a file, but this output is a directory",
         ""});
    add({c, "FileOverADirectory", both(data, make_dir("folder")), det + " --out folder --force", 1, "is a directory, but this output is a file", ""});
    add({c, "GenerateOverADirectory", both(toml(scenario()), make_dir("folder")), "generate --scenario s.toml --out folder --force --threads 1", 1,
         "is a directory, but this output is a file", ""});
    add({c, "TrailingSlashNamesTheDirectory", data, bt + " --out run/", 0, "", "run/summary.json"});
    // `--out NAME/` means NAME (docs/cli.md), for a file output too.
    add({c, "FileOutputWithTrailingSlash", data, det + " --out f.csv/", 0, "", "f.csv"});
    add({c, "MissingParent", data, det + " --out nowhere/f.csv", 1, "nowhere", "nowhere"});
    add({c, "MissingParentOfARun", data, bt + " --out nowhere/run", 1, "nowhere", "nowhere"});
    add({c, "ParentIsAFile", both(data, files({{"plain", "x"}})), det + " --out plain/f.csv", 1, "output directory 'plain' is not a directory", ""});
    add({c, "EmptyName", data, det + " --out ''", 1, "output path is empty", ""});
    add({c, "ExistingRunWithoutForce", both(data, files({{"run/summary.json", "{}"}})), bt + " --out run", 1,
         "output 'run' already exists (use --force to replace it)", ""});
    add({c, "ExistingFileWithoutForce", both(data, files({{"f.csv", "old"}})), det + " --out f.csv", 1, "already exists", ""});
    add({c, "ExistingDatasetWithoutForce", both(toml(scenario()), files({{"g.h5", "old"}})), generate(), 1, "already exists", ""});
    add({c, "ExistingIngestWithoutForce", both(csv(rows("")), files({{"u.h5", "old"}})), ingest(), 1, "already exists", ""});
    add({c, "ExistingSweepWithoutForce", both(data, files({{"sw/best.json", "{}"}})), "sweep --data d.h5 --out sw --threads 1 --grid changepoints=1,2",
         1, "already exists", ""});
    add({c, "ForceReplacesAnOldRun", both(data, files({{"run/.meterbench-output", ""}, {"run/old.txt", "x"}})), bt + " --out run --force", 0, "",
         "run/summary.json", {"run/.meterbench-output", "run/old.txt"}});
    add({c, "ForceReplacesAnOldFile", both(data, files({{"f.csv", "old"}})), det + " --out f.csv --force", 0, "", "f.csv", {"f.csv"}});
    // Refused before the work, not reported after it as "another run wrote it".
    add({c, "DanglingSymlink", both(data, sym_link("nowhere/x.csv", "f.csv")), det + " --out f.csv", 1,
         "output 'f.csv' is a symbolic link to 'nowhere/x.csv', which does not exist", ""});
    add({c, "DanglingSymlinkWithForce", both(data, sym_link("nowhere/x.csv", "f.csv")), det + " --out f.csv --force", 1,
         "is a symbolic link to 'nowhere/x.csv', which does not exist", ""});
    add({c, "ReportOverTheRunSummary", both(data, files({{"run/summary.json", "{}"}, {"run/.meterbench-output", ""}})),
         "report run --out run/summary.json --force", 1, "summary.json", ""});
  }

  // 10. signals ----------------------------------------------------------------------------------------------------
  {
    const std::string c = "c10_signals";
    const std::string gen = "generate --scenario s.toml --series 2000000 --days 400 --threads 1 --out g.h5";
    const std::string bt = "backtest --data BIG --threads 1 --no-baseline --schedule weekly --weeks 52 --out run";
    const Setup sc = toml(testing::small_scenario(40, 200));
    add({c, "GenerateSigint", sc, gen, 130, "stopped by SIGINT", "g.h5", {}, "", "", Kind::signal_int});
    add({c, "GenerateSigterm", sc, gen, 143, "stopped by SIGTERM", "g.h5", {}, "", "", Kind::signal_term});
    add({c, "BacktestSigint", nullptr, bt, 130, "stopped by SIGINT", "run", {}, "", "", Kind::signal_int});
    add({c, "BacktestSigterm", nullptr, bt, 143, "stopped by SIGTERM", "run", {}, "", "", Kind::signal_term});
    add({c, "GenerateSigtermOverAnOldOutput", both(sc, files({{"g.h5", "old"}})), gen + " --force", 143, "removed the unfinished output", "g.h5", {},
         "", "", Kind::signal_term});
    add({c, "GenerateKill9ThenRerun", sc, gen, 0, "left by a run that was killed", "g.h5", {}, "", "", Kind::kill9_rerun,
         "generate --scenario s.toml --series 4 --days 30 --threads 1 --out g.h5"});
    add({c, "BacktestKill9ThenRerun", nullptr, bt, 0, "left by a run that was killed", "run", {}, "", "", Kind::kill9_rerun,
         "backtest --data DATA --threads 1 --no-baseline --out run"});
  }

  // 11. concurrency ------------------------------------------------------------------------------------------------
  {
    const std::string c = "c11_concurrency";
    const Setup sc = toml(testing::small_scenario(600, 400));
    add({c, "TwoGenerates", sc, "generate --scenario s.toml --threads 1 --out g.h5", 0, "exists", "g.h5", {}, "", "", Kind::race});
    add({c, "TwoGeneratesCompressed", sc, "generate --scenario s.toml --threads 1 --compress 3 --out g.h5", 0, "exists", "g.h5", {}, "", "",
         Kind::race});
    add({c, "TwoDetects", nullptr, "detect --data BIG --threads 1 --set z=2 --min-impact 0 --out f.csv", 0, "exists", "f.csv", {}, "", "", Kind::race});
    add({c, "TwoBacktests", nullptr, "backtest --data BIG --threads 1 --no-baseline --out run", 0, "exists", "run", {}, "", "", Kind::race});
    add({c, "TwoIngests", csv(big_csv(100, 300)), "ingest --csv u.csv --threads 1 --out u.h5", 0, "exists", "u.h5", {}, "", "", Kind::race});
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Running a row.

std::string substitute(std::string text) {
  for (const auto& [token, value] : {std::pair<std::string, std::string>{"DATA", g_data.string()}, {"BIG", g_big.string()}}) {
    for (auto pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos + value.size())) {
      text.replace(pos, token.size(), value);
    }
  }
  return text;
}

// Every regular file under `dir` with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && !entry.is_symlink()) files[fs::relative(entry.path(), dir).string()] = read_file(entry.path());
  return files;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

void expect_status(int status, int expected, const std::string& output) {
  ASSERT_FALSE(WIFSIGNALED(status)) << describe_status(status) << "\n" << output;
  ASSERT_TRUE(WIFEXITED(status)) << describe_status(status);
  const int code = WEXITSTATUS(status);
  if (expected == kUsage)
    EXPECT_TRUE(code >= 100 && code <= 125) << "expected a command-line error, got exit " << code << "\n" << output;
  else if (expected == kZeroOrOne)
    EXPECT_TRUE(code == 0 || code == 1) << "got exit " << code << "\n" << output;
  else
    EXPECT_EQ(code, expected) << output;
}

// A child running the CLI with `arguments` (split on spaces, no quoting) from `cwd`, output to `log`.
pid_t spawn(const std::string& arguments, const fs::path& cwd, const fs::path& log) {
  std::vector<std::string> words;
  std::string word;
  for (const char ch : arguments + " ") {
    if (ch == ' ') {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += ch;
    }
  }
  const pid_t child = ::fork();
  if (child == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(METERBENCH_CLI)};
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execv(METERBENCH_CLI, argv.data());
    ::_exit(127);
  }
  return child;
}

bool wait_until_staged(const fs::path& dir, pid_t child) {
  for (int i = 0; i < 6000; ++i) {  // up to a minute on a loaded machine
    if (!testing::staged_entries(dir).empty()) return true;
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) return false;  // ended before staging
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

class Adversarial : public ::testing::TestWithParam<Row> {
 protected:
  static void SetUpTestSuite() {
    shared_ = new testing::ScratchDir("Adversarial");
    g_data = *shared_ / "d.h5";
    g_big = *shared_ / "big.h5";
    write_file(*shared_ / "s.toml", "[population]\nseries = 24\ndays = 120\nstart = \"2024-01-01\"\nstep = \"1d\"\nseed = 5\n"
                                    "[injections.spike]\nrate = 3\nlength = [1, 3]\nsize = [4, 10]\n");
    auto r = testing::run_cli("generate --scenario " + (*shared_ / "s.toml").string() + " --threads 1 --out " + g_data.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    write_file(*shared_ / "big.toml", "[population]\nseries = 3000\ndays = 400\nstart = \"2024-01-01\"\nstep = \"1d\"\nseed = 7\n"
                                      "[injections.spike]\nrate = 3\nlength = [1, 3]\nsize = [4, 10]\n");
    r = testing::run_cli("generate --scenario " + (*shared_ / "big.toml").string() + " --threads 1 --out " + g_big.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  static testing::ScratchDir* shared_;
};
testing::ScratchDir* Adversarial::shared_ = nullptr;

TEST_P(Adversarial, Case) {
  const Row& row = GetParam();
  testing::ScratchDir scratch;
  const fs::path dir = scratch.path();
  if (row.setup) row.setup(dir);
  const auto before = snapshot(dir);
  const bool out_existed = !row.out.empty() && fs::exists(fs::symlink_status(dir / row.out));
  const fs::path cwd = row.cwd.empty() ? dir : dir / row.cwd;
  const std::string command = substitute(row.command);
  std::string output;

  if (row.kind == Kind::plain) {
    const auto r = testing::run_command("cd '" + cwd.string() + "' && " + row.prefix + "exec " + METERBENCH_CLI + " " + command);
    output = r.output;
    expect_status(r.wait_status, row.exit, output);
  } else if (row.kind == Kind::signal_int || row.kind == Kind::signal_term || row.kind == Kind::kill9_rerun) {
    const fs::path log = dir.parent_path() / (dir.filename().string() + ".log");
    const pid_t child = spawn(command, cwd, log);
    ASSERT_GT(child, 0);
    const bool staged = wait_until_staged(dir, child);
    const int sig = row.kind == Kind::signal_int ? SIGINT : row.kind == Kind::signal_term ? SIGTERM : SIGKILL;
    ::kill(child, sig);
    int status = 0;
    ::waitpid(child, &status, 0);
    output = read_file(log);
    fs::remove(log);
    ASSERT_TRUE(staged) << "the output was never staged: " << describe_status(status) << "\n" << output;
    if (row.kind == Kind::kill9_rerun) {
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << describe_status(status);
      ASSERT_NE(testing::staged_entries(dir), "") << "kill -9 leaves the staged output (the rerun has nothing to remove)";
      const auto r = testing::run_command("cd '" + cwd.string() + "' && exec " + METERBENCH_CLI + " " + substitute(row.rerun));
      output = r.output;
      expect_status(r.wait_status, row.exit, output);
    } else {
      expect_status(status, row.exit, output);
      EXPECT_TRUE(contains(output, "removed the unfinished output")) << output;
    }
  } else if (row.kind == Kind::race) {
    const fs::path log_a = dir.parent_path() / (dir.filename().string() + ".a.log");
    const fs::path log_b = dir.parent_path() / (dir.filename().string() + ".b.log");
    const pid_t a = spawn(command, cwd, log_a);
    const pid_t b = spawn(command, cwd, log_b);
    int status_a = 0, status_b = 0;
    ::waitpid(a, &status_a, 0);
    ::waitpid(b, &status_b, 0);
    const std::string out_a = read_file(log_a), out_b = read_file(log_b);
    fs::remove(log_a);
    fs::remove(log_b);
    ASSERT_FALSE(WIFSIGNALED(status_a)) << describe_status(status_a) << "\n" << out_a;
    ASSERT_FALSE(WIFSIGNALED(status_b)) << describe_status(status_b) << "\n" << out_b;
    const int code_a = WEXITSTATUS(status_a), code_b = WEXITSTATUS(status_b);
    EXPECT_TRUE((code_a == 0 && code_b == 1) || (code_a == 1 && code_b == 0)) << "exactly one must succeed: exits " << code_a << " and " << code_b
                                                                               << "\nA:\n" << out_a << "\nB:\n" << out_b;
    const std::string& loser = code_a == 1 ? out_a : out_b;
    EXPECT_TRUE(contains(loser, row.message)) << loser;
    // The winner's output is complete: equal, byte for byte, to a run made alone.
    const testing::ScratchDir reference("AdversarialReference-" + row.name);
    if (row.setup) row.setup(reference.path());
    const auto r = testing::run_command("cd '" + reference.path().string() + "' && exec " + METERBENCH_CLI + " " + command);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (fs::is_regular_file(reference.path() / row.out)) {
      EXPECT_TRUE(read_file(dir / row.out) == read_file(reference.path() / row.out)) << "the raced output differs from a run made alone";
    } else {
      for (const std::string file : {"alerts.csv", "per_kind.csv", "pr_curve.csv"}) {
        EXPECT_TRUE(read_file(dir / row.out / file) == read_file(reference.path() / row.out / file)) << file;
      }
    }
    output = loser;
  }

  if (std::getenv("ADVERSARIAL_VERBOSE") != nullptr) std::printf("%s\n", output.c_str());  // to read every message
  if (row.kind != Kind::race && !row.message.empty()) {
    EXPECT_TRUE(contains(output, row.message)) << "expected '" << row.message << "' in:\n" << output;
  }
  // Nothing staged is left, anywhere under the case directory.
  EXPECT_EQ(testing::staged_entries(dir), "") << output;
  // Every file that was there before is untouched, unless the row replaces it.
  for (const auto& [name, bytes] : before) {
    if (std::find(row.replaced.begin(), row.replaced.end(), name) != row.replaced.end()) continue;
    if (!out_existed && name == row.out) continue;
    ASSERT_TRUE(fs::exists(dir / name)) << name << " was removed\n" << output;
    EXPECT_TRUE(read_file(dir / name) == bytes) << name << " was changed\n" << output;
  }
  // Output after success; none after a refusal (unless it was there before and is untouched, checked above).
  const bool succeeded = row.exit == 0 && row.kind != Kind::race;
  if (!row.out.empty()) {
    if (succeeded) {
      EXPECT_TRUE(fs::exists(dir / row.out)) << row.out << " missing\n" << output;
    } else if (row.exit != kZeroOrOne && row.kind != Kind::race && !out_existed) {
      EXPECT_FALSE(fs::exists(fs::symlink_status(dir / row.out))) << row.out << " written by a failed run\n" << output;
    }
  }
  // What a successful run replaces is changed or gone.
  if (succeeded) {
    for (const auto& name : row.replaced) {
      EXPECT_TRUE(!fs::exists(dir / name) || read_file(dir / name) != before.at(name)) << name << " was not replaced\n" << output;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, Adversarial, ::testing::ValuesIn(all_rows()),
                         [](const ::testing::TestParamInfo<Row>& row) { return row.param.category + "_" + row.param.name; });

}  // namespace
}  // namespace meterbench
