#include "meterbench/model/parameters.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/core/check.hpp"

namespace meterbench {

namespace {

std::string range_text(const ParameterSpec& spec) {
  switch (spec.type) {
    case ParameterSpec::Type::integer: return fmt::format("integer in [{}, {}]", spec.min, spec.max);
    case ParameterSpec::Type::real: return fmt::format("number in [{}, {}]", spec.min, spec.max);
    case ParameterSpec::Type::choice: return fmt::format("one of {}", fmt::join(spec.choices, ", "));
  }
  return {};
}

double parse_number(std::string_view detector, const ParameterSpec& spec, const std::string& text) {
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    throw std::invalid_argument(
        fmt::format("{}: parameter '{}' has value '{}', which is not a number (expected {})", detector, spec.name, text, range_text(spec)));
  if (spec.type == ParameterSpec::Type::integer && value != std::floor(value))
    throw std::invalid_argument(
        fmt::format("{}: parameter '{}' has value '{}', which is not an integer (expected {})", detector, spec.name, text, range_text(spec)));
  if (value < spec.min || value > spec.max)
    throw std::invalid_argument(
        fmt::format("{}: parameter '{}' has value '{}', out of range (expected {})", detector, spec.name, text, range_text(spec)));
  return value;
}

void check_value(std::string_view detector, const ParameterSpec& spec, const std::string& text) {
  if (spec.type != ParameterSpec::Type::choice) {
    parse_number(detector, spec, text);
    return;
  }
  for (const auto& c : spec.choices)
    if (c == text) return;
  throw std::invalid_argument(
      fmt::format("{}: parameter '{}' has value '{}' (expected {})", detector, spec.name, text, range_text(spec)));
}

}  // namespace

ParameterValues::ParameterValues(std::string_view detector, std::span<const ParameterSpec> specs,
                                 std::span<const std::string> settings)
    : detector_(detector) {
  entries_.reserve(specs.size());
  for (const auto& spec : specs) entries_.push_back({&spec, spec.default_value, false});
  for (const auto& setting : settings) {
    const auto eq = setting.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument(fmt::format("{}: setting '{}' is not of the form name=value", detector_, setting));
    const std::string name = setting.substr(0, eq);
    Entry* entry = nullptr;
    for (auto& e : entries_)
      if (e.spec->name == name) entry = &e;
    if (entry == nullptr) {
      std::vector<std::string> known;
      for (const auto& e : entries_) known.push_back(e.spec->name);
      throw std::invalid_argument(fmt::format("{}: unknown parameter '{}' (known: {})", detector_, name,
                                              known.empty() ? std::string("none") : fmt::format("{}", fmt::join(known, ", "))));
    }
    if (entry->set) throw std::invalid_argument(fmt::format("{}: parameter '{}' is set twice", detector_, name));
    entry->value = setting.substr(eq + 1);
    entry->set = true;
  }
  for (const auto& e : entries_) check_value(detector_, *e.spec, e.value);
}

const ParameterValues::Entry& ParameterValues::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.spec->name == name) return e;
  METERBENCH_CHECK(false && "parameter not declared in the detector's specs");
  std::abort();
}

std::int64_t ParameterValues::integer(std::string_view name) const {
  const Entry& e = find(name);
  METERBENCH_CHECK(e.spec->type == ParameterSpec::Type::integer);
  return static_cast<std::int64_t>(parse_number(detector_, *e.spec, e.value));
}

double ParameterValues::real(std::string_view name) const {
  const Entry& e = find(name);
  METERBENCH_CHECK(e.spec->type != ParameterSpec::Type::choice);
  return parse_number(detector_, *e.spec, e.value);
}

const std::string& ParameterValues::choice(std::string_view name) const {
  const Entry& e = find(name);
  METERBENCH_CHECK(e.spec->type == ParameterSpec::Type::choice);
  return e.value;
}

bool ParameterValues::is_set(std::string_view name) const { return find(name).set; }

std::vector<std::pair<std::string, std::string>> ParameterValues::effective() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.emplace_back(e.spec->name, e.value);
  return out;
}

std::string describe_parameters(std::string_view detector, std::span<const ParameterSpec> specs) {
  std::string out = fmt::format("### `{}`\n\n| parameter | default | range | meaning |\n| --- | --- | --- | --- |\n", detector);
  for (const auto& s : specs) out += fmt::format("| `{}` | `{}` | {} | {} |\n", s.name, s.default_value, range_text(s), s.help);
  return out;
}

}  // namespace meterbench
