#include "meterbench/generate/scenario.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

namespace meterbench {

namespace {

constexpr std::array<std::string_view, kNoiseModelCount> kNoiseNames = {"gaussian", "poisson", "negative_binomial", "lognormal"};

// Reads one TOML table, remembering which keys were asked for, so that anything else is reported as
// unknown with its line. Every error names the source, the line and the full key.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, const std::string& source)
      : table_(table), prefix_(std::move(prefix)), source_(source) {}

  [[noreturn]] void fail(const toml::source_region& where, std::string_view key, const std::string& what) const {
    throw ScenarioError(fmt::format("{}:{}: key '{}{}': {}", source_, where.begin.line, prefix_, key, what));
  }

  const toml::node* get(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
  }

  double number(std::string_view key, double fallback, double min, double max) {
    const toml::node* node = get(key);
    if (node == nullptr) return fallback;
    return checked_number(*node, key, min, max);
  }

  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
    const toml::node* node = get(key);
    if (node == nullptr) return fallback;
    const auto value = node->value_exact<std::int64_t>();
    if (!value) fail(node->source(), key, "must be an integer");
    if (*value < min || *value > max) fail(node->source(), key, fmt::format("value {} is out of range [{}, {}]", *value, min, max));
    return *value;
  }

  std::string text(std::string_view key, std::string fallback) {
    const toml::node* node = get(key);
    if (node == nullptr) return fallback;
    const auto value = node->value_exact<std::string>();
    if (!value) fail(node->source(), key, "must be a string");
    return *value;
  }

  /// A range written as [min, max], or a single number for a fixed value.
  Range range(std::string_view key, Range fallback, double min, double max) {
    const toml::node* node = get(key);
    if (node == nullptr) return fallback;
    if (!node->is_array()) {
      const double v = checked_number(*node, key, min, max);
      return {v, v};
    }
    const toml::array& array = *node->as_array();
    if (array.size() != 2) fail(node->source(), key, fmt::format("must be [min, max], got {} values", array.size()));
    Range r{checked_number(*array.get(0), key, min, max), checked_number(*array.get(1), key, min, max)};
    if (r.min > r.max) fail(node->source(), key, fmt::format("min {} is greater than max {}", r.min, r.max));
    return r;
  }

  const toml::table* subtable(std::string_view key) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) fail(node->source(), key, "must be a table");
    return node->as_table();
  }

  void reject_unknown() const {
    for (auto&& [key, node] : table_) {
      bool known = false;
      for (const auto& k : known_) known = known || k == key.str();
      if (!known)
        throw ScenarioError(fmt::format("{}:{}: unknown key '{}{}' (known keys here: {})", source_, key.source().begin.line, prefix_,
                                        key.str(), fmt::join(known_, ", ")));
    }
  }

 private:
  double checked_number(const toml::node& node, std::string_view key, double min, double max) const {
    std::optional<double> value;
    if (node.is_integer()) value = static_cast<double>(*node.value_exact<std::int64_t>());
    if (node.is_floating_point()) value = *node.value_exact<double>();
    if (!value) fail(node.source(), key, "must be a number");
    if (!std::isfinite(*value) || *value < min || *value > max)
      fail(node.source(), key, fmt::format("value {} is out of range [{}, {}]", *value, min, max));
    return *value;
  }

  const toml::table& table_;
  std::string prefix_;
  const std::string& source_;
  std::vector<std::string> known_;
};

// Reads a table of non-negative weights named by `names` (index 0 of `names` may be skipped), at least one positive.
template <std::size_t N>
std::array<double, N> read_weights(TableReader& parent, std::string_view key, const std::array<std::string_view, N>& names,
                                   std::size_t first, const std::string& source, std::string_view fallback_name,
                                   std::vector<std::string_view> extra_keys = {}) {
  std::array<double, N> weights{};
  const toml::table* table = parent.subtable(key);
  if (table == nullptr) {
    for (std::size_t i = 0; i < N; ++i) weights[i] = names[i] == fallback_name ? 1.0 : 0.0;
    return weights;
  }
  TableReader reader(*table, std::string(key) + ".", source);
  double total = 0.0;
  for (std::size_t i = first; i < N; ++i) total += weights[i] = reader.number(names[i], 0.0, 0.0, 1e9);
  for (auto extra : extra_keys) reader.get(extra);  // parameters read by the caller from the same table
  reader.reject_unknown();
  if (total <= 0.0) throw ScenarioError(fmt::format("{}:{}: table '{}': at least one weight must be positive", source,
                                                    table->source().begin.line, key));
  return weights;
}

void validate_size(const Scenario& s) {
  if (s.series < 1 || s.series > kMaxSeries)
    throw ScenarioError(fmt::format("{}: series must be between 1 and {}, got {}", s.source, kMaxSeries, s.series));
  if (s.days < 1 || s.days > kMaxDays)
    throw ScenarioError(fmt::format("{}: days must be between 1 and {}, got {}", s.source, kMaxDays, s.days));
  if (s.grid.steps > kMaxSteps)
    throw ScenarioError(fmt::format("{}: {} days at step {} make {} steps per series, more than the {} supported", s.source, s.days,
                                    format_step(s.grid.step_seconds), s.grid.steps, kMaxSteps));
}

}  // namespace

void Scenario::override_size(std::optional<std::int64_t> series_override, std::optional<std::int64_t> days_override,
                             std::optional<std::uint64_t> seed_override) {
  if (series_override) series = *series_override;
  if (days_override) days = *days_override;
  if (seed_override) seed = *seed_override;
  grid.steps = days * (kSecondsPerDay / grid.step_seconds);
  validate_size(*this);
}

namespace {

// The length of the run of `quote` that starts `text`: a multi-line string may end with up to two quotes of
// its own just before its closing three.
std::size_t run_of(std::string_view text, char quote) {
  std::size_t n = 0;
  while (n < text.size() && n < 5 && text[n] == quote) ++n;
  return n;
}

// TOML allows non-ASCII text only inside strings and comments. toml++ 3.3.0 (Debian) reaches an unreachable
// branch (undefined behaviour) on some non-ASCII characters outside them, and on a malformed value its error
// message scans on across quotes, so a string is no shelter either: scenarios (whose strings are all ASCII
// words, dates and steps) take non-ASCII text in comments only, refused elsewhere before toml++ parses.
void refuse_non_ascii_outside_comments(std::string_view text, const std::string& source) {
  enum class State { code, comment, basic, literal, multi_basic, multi_literal } state = State::code;
  std::int64_t line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const std::string_view rest = text.substr(i);
    if (c == '\n') {
      ++line;
      if (state == State::comment) state = State::code;
      continue;
    }
    const bool escape = c == '\\' && i + 1 < text.size() && text[i + 1] != '\n';  // a line-ending backslash counts its line
    if (state != State::comment && static_cast<unsigned char>(c) >= 0x80)
      throw ScenarioError(fmt::format("{}:{}: a non-ASCII character outside a comment (scenario files take them only in comments)", source, line));
    switch (state) {
      case State::code:
        if (c == '#') {
          state = State::comment;
        } else if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
          state = c == '"' ? State::multi_basic : State::multi_literal;
          i += 2;
        } else if (c == '"' || c == '\'') {
          state = c == '"' ? State::basic : State::literal;
        }
        break;
      case State::comment:
        break;
      case State::basic:
        if (escape) ++i;
        else if (c == '"') state = State::code;
        break;
      case State::literal:
        if (c == '\'') state = State::code;
        break;
      case State::multi_basic:
      case State::multi_literal: {
        const char quote = state == State::multi_basic ? '"' : '\'';
        if (escape && state == State::multi_basic) {
          ++i;
        } else if (c == quote && run_of(rest, quote) >= 3) {
          state = State::code;
          i += run_of(rest, quote) - 1;
        }
        break;
      }
    }
  }
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& source, ScenarioPurpose purpose) {
  refuse_non_ascii_outside_comments(text, source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ScenarioError(fmt::format("{}:{}: TOML syntax error: {}", source, e.source().begin.line, e.description()));
  }
  Scenario s;
  s.source = source;
  s.text = text;
  TableReader top(root, "", source);

  const toml::table* population = top.subtable("population");
  if (population == nullptr && purpose == ScenarioPurpose::generate)
    throw ScenarioError(fmt::format("{}: the [population] table is missing", source));
  if (population != nullptr) {
    TableReader p(*population, "population.", source);
    s.series = p.integer("series", 10'000, 1, kMaxSeries);
    s.days = p.integer("days", 730, 1, kMaxDays);
    const std::string start = p.text("start", "2024-01-01");
    const std::string step = p.text("step", "1d");
    s.seed = static_cast<std::uint64_t>(p.integer("seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
    try {
      s.grid.start_unix_seconds = parse_utc_timestamp(start);
    } catch (const std::invalid_argument& e) {
      p.fail(population->get("start")->source(), "start", e.what());
    }
    try {
      s.grid.step_seconds = parse_step(step);
    } catch (const std::invalid_argument& e) {
      p.fail(population->get("step")->source(), "step", e.what());
    }
    if (kSecondsPerDay % s.grid.step_seconds != 0)
      p.fail(population->get("step")->source(), "step", fmt::format("'{}' does not divide a day (use e.g. 1d, 1h, 30min)", step));
    p.reject_unknown();
  }

  s.profile_weights = read_weights(top, "profiles", kUsageProfileNames, 1, source, "steady");

  if (const toml::table* level = top.subtable("level")) {
    TableReader l(*level, "level.", source);
    s.level = {l.number("min", 1.0, 1e-9, 1e15), l.number("max", 1.0, 1e-9, 1e15)};
    if (s.level.min > s.level.max) l.fail(level->source(), "min", fmt::format("min {} is greater than max {}", s.level.min, s.level.max));
    l.reject_unknown();
  }

  s.noise_weights = read_weights(top, "noise", kNoiseNames, 0, source, "gaussian", {"gaussian_cv", "nb_dispersion", "lognormal_sigma", "wander", "wander_days"});
  if (const toml::table* noise = root.get_as<toml::table>("noise")) {
    TableReader n(*noise, "noise.", source);
    s.gaussian_cv = n.range("gaussian_cv", s.gaussian_cv, 0.0, 10.0);
    s.nb_dispersion = n.range("nb_dispersion", s.nb_dispersion, 1e-3, 1e9);
    s.lognormal_sigma = n.range("lognormal_sigma", s.lognormal_sigma, 0.0, 5.0);
    s.wander = n.range("wander", s.wander, 0.0, 2.0);
    s.wander_days = n.number("wander_days", s.wander_days, 0.01, 3650.0);
  }

  if (const toml::table* price = top.subtable("price")) {
    TableReader p(*price, "price.", source);
    s.price = {p.number("min", 1.0, 1e-12, 1e9), p.number("max", 1.0, 1e-12, 1e9)};
    if (s.price.min > s.price.max) p.fail(price->source(), "min", fmt::format("min {} is greater than max {}", s.price.min, s.price.max));
    p.reject_unknown();
  }

  if (const toml::table* injections = top.subtable("injections")) {
    TableReader in(*injections, "injections.", source);
    for (const AnomalyKindTraits& kind : kAnomalyKinds) {
      if (kind.effect == InjectionEffect::none) continue;
      const toml::table* table = in.subtable(kind.scenario_key);
      if (table == nullptr) continue;
      TableReader r(*table, fmt::format("injections.{}.", kind.scenario_key), source);
      InjectionSpec& spec = s.injections[static_cast<std::size_t>(kind.kind)];
      spec.rate = r.number("rate", 0.0, 0.0, 365.25 * 24);
      spec.length = r.range("length", {1, 1}, 1, static_cast<double>(kMaxSteps));
      if (spec.length.min != std::floor(spec.length.min) || spec.length.max != std::floor(spec.length.max))
        r.fail(table->get("length")->source(), "length", "lengths are whole steps");
      if (kind.effect == InjectionEffect::mean) {  // structural changes are sized in noise-scale units
        spec.size = r.range("size", {5, 5}, 0.0, 1e6);
        if (spec.rate > 0.0 && spec.size.max <= 0.0) r.fail(table->source(), "size", "must be positive when rate > 0");
      }
      if (kind.has_factor) spec.factor = r.number("factor", 1000.0, 1.0 + 1e-9, 1e12);
      r.reject_unknown();
    }
    const std::int64_t warmup_days = in.integer("warmup_days", -1, 0, kMaxDays);
    if (warmup_days >= 0) s.warmup_days = warmup_days;
    in.reject_unknown();
  }
  top.reject_unknown();

  if (population == nullptr) {  // inject: the dataset gives the population; these only keep the scenario valid
    s.series = 1;
    s.days = 1;
    s.grid.step_seconds = kSecondsPerDay;
  }
  s.grid.steps = s.days * (kSecondsPerDay / s.grid.step_seconds);
  validate_size(s);
  return s;
}

Scenario load_scenario(const std::filesystem::path& path, ScenarioPurpose purpose) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ScenarioError(fmt::format("{}: is a directory, not a scenario file", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError(fmt::format("cannot read scenario file '{}'", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path.string(), purpose);
}

}  // namespace meterbench
