#include "meterbench/model/parameters.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/core/check.hpp"

namespace meterbench {

namespace {

using Entry = ParameterValues::Entry;

// The values a row accepts, as error messages and the docs' range column say it.
std::string range_text(const ParameterSpec& spec) {
  switch (spec.type) {
    case ParameterSpec::Type::integer: {
      const std::string integers = fmt::format("{}integer in [{}, {}]", spec.rules.odd ? "odd " : "", spec.min, spec.max);
      return spec.rules.zero_means.empty() ? integers : fmt::format("0 = {}, or {}", spec.rules.zero_means, integers);
    }
    case ParameterSpec::Type::real: return fmt::format("number in [{}, {}]", spec.min, spec.max);
    case ParameterSpec::Type::choice: return fmt::format("one of {}", fmt::join(spec.choices, ", "));
  }
  return {};
}

[[noreturn]] void reject(std::string_view detector, const ParameterSpec& spec, const std::string& text, std::string_view problem) {
  throw std::invalid_argument(
      fmt::format("{}: parameter '{}' has value '{}'{} (expected {})", detector, spec.name, text, problem, range_text(spec)));
}

// The number a numeric row's text stands for; throws naming the first rule of the row it breaks.
double parse_number(std::string_view detector, const ParameterSpec& spec, const std::string& text) {
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) reject(detector, spec, text, ", which is not a number");
  if (spec.type == ParameterSpec::Type::integer && value != std::floor(value)) reject(detector, spec, text, ", which is not an integer");
  const bool special_zero = value == 0.0 && !spec.rules.zero_means.empty();
  if (!special_zero && (value < spec.min || value > spec.max)) reject(detector, spec, text, ", out of range");
  if (!special_zero && spec.rules.odd && std::fmod(value, 2.0) == 0.0) reject(detector, spec, text, ", which is not odd");
  return value;
}

void check_value(std::string_view detector, const ParameterSpec& spec, const std::string& text) {
  if (spec.type != ParameterSpec::Type::choice) {
    parse_number(detector, spec, text);
    return;
  }
  for (const auto& c : spec.choices)
    if (c == text) return;
  reject(detector, spec, text, "");
}

const Entry* find_entry(std::span<const Entry> entries, std::string_view name) {
  for (const auto& e : entries)
    if (e.spec->name == name) return &e;
  return nullptr;
}

}  // namespace

void validate_parameters(std::string_view detector, std::span<const Entry> entries) {
  for (const auto& e : entries) check_value(detector, *e.spec, e.value);
  for (const auto& e : entries) {
    const ParameterRules& rules = e.spec->rules;
    if (!rules.at_most.empty()) {
      const Entry* bound = find_entry(entries, rules.at_most);
      const double value = parse_number(detector, *e.spec, e.value);
      const double limit = parse_number(detector, *bound->spec, bound->value);
      if (value > limit)
        throw std::invalid_argument(fmt::format("{}: parameter '{}' ({}) must not exceed '{}' ({})", detector, e.spec->name, e.value,
                                                bound->spec->name, bound->value));
    }
    if (!rules.exclusive_with.empty() && e.set && find_entry(entries, rules.exclusive_with)->set)
      throw std::invalid_argument(fmt::format("{}: set either '{}' or '{}', not both", detector, e.spec->name, rules.exclusive_with));
  }
}

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
  validate_parameters(detector_, entries_);
}

const ParameterValues::Entry& ParameterValues::find(std::string_view name) const {
  const Entry* e = find_entry(entries_, name);
  METERBENCH_CHECK(e != nullptr && "parameter not declared in the detector's specs");
  return *e;
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

const ParameterSpec* find_parameter_spec(std::span<const ParameterSpec> specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

const ParameterSpec* flag_threshold_spec(std::span<const ParameterSpec> specs) {
  for (const auto& s : specs)
    if (s.role == ParameterRole::flag_threshold) return &s;
  return nullptr;
}

bool sets_flag_threshold(const ParameterSpec& spec, std::span<const ParameterSpec> specs) {
  const ParameterSpec* threshold = flag_threshold_spec(specs);
  if (threshold == nullptr) return false;
  return &spec == threshold || spec.name == threshold->name || spec.rules.exclusive_with == threshold->name ||
         threshold->rules.exclusive_with == spec.name;
}

std::string describe_parameters(std::string_view detector, std::span<const ParameterSpec> specs) {
  std::string out = fmt::format("### `{}`\n\n| parameter | default | range | meaning |\n| --- | --- | --- | --- |\n", detector);
  for (const auto& s : specs) {
    std::string range = range_text(s);
    if (!s.rules.at_most.empty()) range += fmt::format("; at most `{}`", s.rules.at_most);
    if (!s.rules.exclusive_with.empty()) range += fmt::format("; not with `{}`", s.rules.exclusive_with);
    if (s.role == ParameterRole::flag_threshold) range += "; the flag threshold";
    out += fmt::format("| `{}` | `{}` | {} | {} |\n", s.name, s.default_value, range, s.help);
  }
  return out;
}

namespace detail {

void check_parameter_table(std::string_view detector, std::span<const ParameterSpec> specs, std::span<const std::uint8_t> bound) {
  int thresholds = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const ParameterSpec& s = specs[i];
    METERBENCH_CHECK(bound[i] != 0 && "every parameter row binds a member of the config struct");
    METERBENCH_CHECK((s.type == ParameterSpec::Type::choice) == !s.choices.empty());
    METERBENCH_CHECK(s.rules.at_most.empty() || find_parameter_spec(specs, s.rules.at_most) != nullptr);
    METERBENCH_CHECK(s.rules.exclusive_with.empty() || find_parameter_spec(specs, s.rules.exclusive_with) != nullptr);
    METERBENCH_CHECK((!s.rules.odd && s.rules.zero_means.empty()) || s.type == ParameterSpec::Type::integer);
    if (s.role == ParameterRole::flag_threshold) {
      METERBENCH_CHECK(s.type == ParameterSpec::Type::real);
      ++thresholds;
    }
  }
  METERBENCH_CHECK(thresholds <= 1);
  // The defaults must pass the table's own validation.
  const ParameterValues defaults(detector, specs, std::span<const std::string>{});
  (void)defaults;
}

}  // namespace detail

}  // namespace meterbench
