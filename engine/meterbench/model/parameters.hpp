#pragma once
// One source of truth for a detector's parameters: a table of rows, each with its name, default, range,
// rules, role and help text, bound to the member of the detector's config struct it fills. The CLI's
// `--set name=value`, `sweep --grid`, the `models` listing (and so docs/cli.md) and the config struct's
// values all come from these rows; the config structs carry no defaults of their own.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace meterbench {

/// What a parameter is for, beyond filling its member.
enum class ParameterRole {
  plain,
  flag_threshold,  ///< the flag rule is score > this value (Detector::flag_threshold; sweep reads it off the curve)
};

/// Rules beyond the range, checked by validate_parameters() with a message naming the rule.
struct ParameterRules {
  bool odd = false;                 ///< integer: must be odd (0 excepted when zero_means is set)
  std::string zero_means = {};      ///< integer: 0 is also allowed and means this (e.g. "one week"); other values need [min, max]
  std::string at_most = {};         ///< name of the parameter this one must not exceed
  std::string exclusive_with = {};  ///< name of the parameter that cannot be set together with this one
};

/// The type-erased description of one row: what the CLI, the docs, sweep and validation read.
struct ParameterSpec {
  enum class Type { integer, real, choice };
  std::string name;
  Type type = Type::real;
  std::string default_value;           ///< as text, in the same form a user writes it
  double min = 0.0;                     ///< inclusive bounds for integer and real parameters
  double max = 0.0;
  std::vector<std::string> choices;    ///< allowed values of a choice parameter
  std::string help;                    ///< one line: what it does and when to change it
  ParameterRules rules = {};
  ParameterRole role = ParameterRole::plain;
};

/// Validated values of one detector's parameters, read from "name=value" settings.
/// Construction throws std::invalid_argument naming the detector, parameter and value for: a setting
/// without '=', an unknown name (listing the known ones), a repeated name, or a value that breaks its row
/// (validate_parameters).
class ParameterValues {
 public:
  ParameterValues(std::string_view detector, std::span<const ParameterSpec> specs, std::span<const std::string> settings);

  /// Typed access to a declared parameter (an undeclared name is an internal error).
  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] double real(std::string_view name) const;
  [[nodiscard]] const std::string& choice(std::string_view name) const;
  /// True when the user set the parameter explicitly (as opposed to its default).
  [[nodiscard]] bool is_set(std::string_view name) const;
  /// All parameters with their values as given (or their defaults), in spec order.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> effective() const;

  struct Entry {
    const ParameterSpec* spec;
    std::string value;
    bool set;
  };
  [[nodiscard]] std::span<const Entry> entries() const { return entries_; }

 private:
  [[nodiscard]] const Entry& find(std::string_view name) const;
  std::string detector_;
  std::vector<Entry> entries_;
};

/// The one validation of a parameter set, rule by rule in spec order: each value against its row (a number,
/// an integer, in range, odd, or the row's special 0), then the rules between rows (at_most, exclusive_with).
/// Throws std::invalid_argument naming the detector, the parameter and the rule.
void validate_parameters(std::string_view detector, std::span<const ParameterValues::Entry> entries);

/// The row named `name`; nullptr when there is none.
const ParameterSpec* find_parameter_spec(std::span<const ParameterSpec> specs, std::string_view name);
/// The row with the flag_threshold role; nullptr when the detector has none.
const ParameterSpec* flag_threshold_spec(std::span<const ParameterSpec> specs);
/// True for the flag threshold's row and for the rows exclusive with it (another way of setting it).
bool sets_flag_threshold(const ParameterSpec& spec, std::span<const ParameterSpec> specs);

/// A Markdown table (name, default, range and rules, help) of a detector's parameters.
std::string describe_parameters(std::string_view detector, std::span<const ParameterSpec> specs);

/// How one row reaches its member of the config struct `Config`: an integer, real or choice member,
/// optionally through a conversion (a user-facing value that sets a member in another unit).
template <class Config>
class ParameterBinding {
 public:
  ParameterBinding() = default;
  /// An integer or real member, set from the row's value.
  template <class Member>
    requires std::is_arithmetic_v<Member> && (!std::is_same_v<Member, bool>)
  ParameterBinding(Member Config::*member)  // NOLINT(google-explicit-constructor): rows read as `.bind = &Config::x`
      : type_(std::is_integral_v<Member> ? ParameterSpec::Type::integer : ParameterSpec::Type::real), bound_(member != nullptr) {
    assign_ = [member](Config& c, double number, std::size_t) {
      if constexpr (std::is_integral_v<Member>)
        c.*member = static_cast<Member>(static_cast<std::int64_t>(number));
      else
        c.*member = static_cast<Member>(number);
    };
    address_ = [member](const Config& c) -> const void* { return &(c.*member); };
    value_in_force_ = [member](const Config& c) { return fmt::format("{}", c.*member); };
    number_ = [member](const Config& c) { return static_cast<double>(c.*member); };
  }

  /// A real member set through `to_member` from the row's value; `from_member` gives back the row's value.
  static ParameterBinding converted(double Config::*member, double (*to_member)(double), double (*from_member)(double)) {
    ParameterBinding b;
    b.type_ = ParameterSpec::Type::real;
    b.bound_ = member != nullptr;
    b.assign_ = [member, to_member](Config& c, double number, std::size_t) { c.*member = to_member(number); };
    b.address_ = [member](const Config& c) -> const void* { return &(c.*member); };
    b.value_in_force_ = [member, from_member](const Config& c) { return fmt::format("{}", from_member(c.*member)); };
    b.number_ = [member, from_member](const Config& c) { return from_member(c.*member); };
    return b;
  }

  /// A choice member (an enum or a bool): each choice's name with the value it sets, in the order listed.
  template <class Member>
  static ParameterBinding choice(Member Config::*member, std::vector<std::pair<std::string, Member>> choices) {
    ParameterBinding b;
    b.type_ = ParameterSpec::Type::choice;
    b.bound_ = member != nullptr;
    std::vector<Member> values;
    for (auto& [name, value] : choices) {
      b.choice_names_.push_back(std::move(name));
      values.push_back(value);
    }
    b.assign_ = [member, values](Config& c, double, std::size_t index) { c.*member = values.at(index); };
    b.address_ = [member](const Config& c) -> const void* { return &(c.*member); };
    return b;
  }

  [[nodiscard]] ParameterSpec::Type type() const { return type_; }
  [[nodiscard]] bool bound() const { return bound_; }
  [[nodiscard]] const std::vector<std::string>& choice_names() const { return choice_names_; }
  void assign(Config& c, double number, std::size_t choice_index) const { assign_(c, number, choice_index); }
  /// The address of the bound member inside `c` (which rows share a member; the coverage test).
  [[nodiscard]] const void* address(const Config& c) const { return address_(c); }
  /// The row's value as the struct holds it, as text (numeric rows only).
  [[nodiscard]] std::string value_in_force(const Config& c) const { return value_in_force_(c); }
  [[nodiscard]] double number(const Config& c) const { return number_(c); }

 private:
  ParameterSpec::Type type_ = ParameterSpec::Type::real;
  bool bound_ = false;
  std::vector<std::string> choice_names_;
  std::function<void(Config&, double, std::size_t)> assign_;
  std::function<const void*(const Config&)> address_;
  std::function<std::string(const Config&)> value_in_force_;
  std::function<double(const Config&)> number_;
};

/// One row of a parameter table, written with designated initialisers. Its type (integer, real, choice)
/// and its choices follow from its binding.
template <class Config>
struct ParameterRow {
  std::string name = {};
  ParameterBinding<Config> bind;  ///< no default: a row without one draws a missing-initialiser warning
  std::string default_value = {};
  double min = 0.0;
  double max = 0.0;
  ParameterRules rules = {};
  ParameterRole role = ParameterRole::plain;
  std::string help = {};
};

/// What a detector builds from its settings: the config struct, the effective parameters for summaries and
/// the flag threshold (the value of the row with the flag_threshold role, as the struct holds it).
template <class Config>
struct BoundParameters {
  Config config;
  std::vector<std::pair<std::string, std::string>> effective;
  double flag_threshold = 0.0;
};

namespace detail {
/// Internal consistency of a table (abort on a programming error): each row bound, a choice row with
/// choices, its default valid, its rules naming existing rows, at most one flag threshold.
void check_parameter_table(std::string_view detector, std::span<const ParameterSpec> specs, std::span<const std::uint8_t> bound);
}  // namespace detail

/// A detector's parameter table: the only place its parameters' names, defaults, ranges, rules and help
/// live, and the one generic mapping of "name=value" settings onto its config struct.
template <class Config>
class ParameterTable {
 public:
  ParameterTable(std::string_view detector, std::vector<ParameterRow<Config>> rows) : detector_(detector) {
    std::vector<std::uint8_t> bound_flags;
    for (auto& row : rows) {
      specs_.push_back({std::move(row.name), row.bind.type(), std::move(row.default_value), row.min, row.max, row.bind.choice_names(),
                        std::move(row.help), std::move(row.rules), row.role});
      bound_flags.push_back(row.bind.bound() ? 1 : 0);
      bindings_.push_back(std::move(row.bind));
    }
    detail::check_parameter_table(detector_, specs_, bound_flags);
  }

  [[nodiscard]] std::string_view detector() const { return detector_; }
  [[nodiscard]] std::span<const ParameterSpec> specs() const { return specs_; }
  [[nodiscard]] std::span<const ParameterBinding<Config>> bindings() const { return bindings_; }

  /// Validates the settings (validate_parameters) and fills the config struct row by row. Rows bound to the
  /// same member (z and width) fill it once: from the row the user set, else from the first. Rows of an
  /// exclusive pair report the value in force, read back from the struct, so both agree whichever was given.
  [[nodiscard]] BoundParameters<Config> bind(std::span<const std::string> settings) const {
    const ParameterValues values(detector_, specs_, settings);
    const auto entries = values.entries();
    BoundParameters<Config> out{};
    for (std::size_t i = 0; i < specs_.size(); ++i)
      if (fills_member(out.config, entries, i)) assign(out.config, values, i);
    out.effective = values.effective();
    for (std::size_t i = 0; i < specs_.size(); ++i) {
      if (in_exclusive_pair(i)) out.effective[i].second = bindings_[i].value_in_force(out.config);
      if (specs_[i].role == ParameterRole::flag_threshold) out.flag_threshold = bindings_[i].number(out.config);
    }
    return out;
  }

 private:
  bool fills_member(const Config& c, std::span<const ParameterValues::Entry> entries, std::size_t i) const {
    if (entries[i].set) return true;
    for (std::size_t j = 0; j < specs_.size(); ++j)
      if (j != i && bindings_[j].address(c) == bindings_[i].address(c) && (entries[j].set || j < i)) return false;
    return true;
  }
  void assign(Config& c, const ParameterValues& values, std::size_t i) const {
    const ParameterSpec& spec = specs_[i];
    if (spec.type != ParameterSpec::Type::choice) {
      bindings_[i].assign(c, values.real(spec.name), 0);
      return;
    }
    const std::string& text = values.choice(spec.name);
    std::size_t index = 0;
    while (spec.choices[index] != text) ++index;  // validated: the value is one of the choices
    bindings_[i].assign(c, 0.0, index);
  }
  [[nodiscard]] bool in_exclusive_pair(std::size_t i) const {
    if (!specs_[i].rules.exclusive_with.empty()) return true;
    for (const auto& s : specs_)
      if (s.rules.exclusive_with == specs_[i].name) return true;
    return false;
  }

  std::string detector_;
  std::vector<ParameterSpec> specs_;
  std::vector<ParameterBinding<Config>> bindings_;
};

}  // namespace meterbench
