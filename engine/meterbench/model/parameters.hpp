#pragma once
// One source of truth for a detector's parameters: name, type, default, range and help text. The CLI's
// `--set name=value`, the `models` help listing and the README table all come from these specs.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench {

struct ParameterSpec {
  enum class Type { integer, real, choice };
  std::string name;
  Type type = Type::real;
  std::string default_value;           ///< as text, in the same form a user writes it
  double min = 0.0;                     ///< inclusive bounds for integer and real parameters
  double max = 0.0;
  std::vector<std::string> choices;    ///< allowed values of a choice parameter
  std::string help;                    ///< one line: what it does and when to change it
};

/// Validated values of one detector's parameters, read from "name=value" settings.
/// Construction throws std::invalid_argument naming the detector, parameter and value for: a setting
/// without '=', an unknown name (listing the known ones), a repeated name, or a malformed value.
class ParameterValues {
 public:
  ParameterValues(std::string_view detector, std::span<const ParameterSpec> specs, std::span<const std::string> settings);

  /// Typed access; throws std::invalid_argument when the value is out of the spec's range.
  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] double real(std::string_view name) const;
  [[nodiscard]] const std::string& choice(std::string_view name) const;
  /// True when the user set the parameter explicitly (as opposed to its default).
  [[nodiscard]] bool is_set(std::string_view name) const;
  /// All parameters with their effective values, in spec order.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> effective() const;

 private:
  struct Entry {
    const ParameterSpec* spec;
    std::string value;
    bool set;
  };
  [[nodiscard]] const Entry& find(std::string_view name) const;
  std::string detector_;
  std::vector<Entry> entries_;
};

/// A Markdown table (name, default, range, help) of a detector's parameters.
std::string describe_parameters(std::string_view detector, std::span<const ParameterSpec> specs);

}  // namespace meterbench
