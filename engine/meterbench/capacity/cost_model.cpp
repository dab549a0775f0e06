#include "meterbench/capacity/cost_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>

#include <Eigen/Dense>
#include <fmt/format.h>

namespace meterbench {

namespace {

double efficiency_at(const CostModel& m, double cores) { return cores > 1.0 ? m.parallel_efficiency : 1.0; }

// Fewest threads c >= 1 with work / (c x E_c) <= available seconds; 0 when nothing is available.
std::int64_t cores_for(const CostModel& m, double work, double available) {
  if (!(available > 0.0)) return 0;
  if (work <= available) return 1;
  const double c = std::ceil(work / (available * m.parallel_efficiency) - 1e-9);
  return std::max<std::int64_t>(2, static_cast<std::int64_t>(std::min(c, 9.0e18)));
}

}  // namespace

CostModel fit_cost_model(const std::vector<CapacityPoint>& points) {
  if (points.size() < 2) throw std::invalid_argument(fmt::format("the cost model needs at least two runs, got {}", points.size()));
  std::set<std::int64_t> sizes;
  bool single = false, multi = false;
  for (const CapacityPoint& p : points) {
    if (p.series <= 0 || p.threads < 1 || !(p.wall_seconds > 0.0) || !std::isfinite(p.wall_seconds))
      throw std::invalid_argument(fmt::format("bad capacity run: series {}, threads {}, wall {} s (all must be positive)", p.series, p.threads,
                                              p.wall_seconds));
    sizes.insert(p.series);
    (p.threads == 1 ? single : multi) = true;
  }
  if (sizes.size() < 2) throw std::invalid_argument("the cost model needs runs at two or more sizes (--sizes)");

  // Columns: fixed; series for one-thread runs (t); series / threads for the others (t / E).
  const bool both = single && multi;
  const Eigen::Index cols = both ? 3 : 2;
  Eigen::MatrixXd a(static_cast<Eigen::Index>(points.size()), cols);
  Eigen::VectorXd b(static_cast<Eigen::Index>(points.size()));
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    const CapacityPoint& p = points[i];
    const double s = static_cast<double>(p.series);
    a(r, 0) = 1.0;
    if (both) {
      a(r, 1) = p.threads == 1 ? s : 0.0;
      a(r, 2) = p.threads == 1 ? 0.0 : s / p.threads;
    } else {
      a(r, 1) = s / p.threads;
    }
    b(r) = p.wall_seconds;
  }
  const auto solve = [&](const Eigen::MatrixXd& design) {
    const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(design);
    if (qr.rank() < design.cols())
      throw std::invalid_argument("the runs do not determine the cost model: measure two or more sizes at 1 thread and at the larger thread count");
    return Eigen::VectorXd(qr.solve(b));
  };
  Eigen::VectorXd x = solve(a);
  bool clamped = false;
  if (x(0) < 0.0) {
    // A negative overhead is noise, not a saving: refit with fixed = 0 (least squares under fixed >= 0).
    const Eigen::MatrixXd slopes = a.rightCols(cols - 1);
    Eigen::VectorXd y = solve(slopes);
    x = Eigen::VectorXd::Zero(cols);
    x.tail(cols - 1) = y;
    clamped = true;
  }

  CostModel m;
  m.points = points.size();
  m.fixed_seconds = x(0);
  m.seconds_per_series = x(1);
  m.efficiency_measured = both;
  m.fixed_clamped = clamped;
  m.parallel_efficiency = both ? x(1) / x(2) : 1.0;
  if (!(m.seconds_per_series > 0.0) || (both && !(x(2) > 0.0)))
    throw std::invalid_argument(fmt::format("the fitted cost per series is not positive ({:.3g} s): the runs do not grow with size; "
                                            "measure larger sizes",
                                            m.seconds_per_series));
  m.rms_residual_seconds = std::sqrt((a * x - b).squaredNorm() / static_cast<double>(points.size()));
  return m;
}

double cpu_seconds_per_series(const std::vector<CapacityPoint>& points) {
  double cpu = 0.0, series = 0.0;
  for (const CapacityPoint& p : points)
    if (p.process_cpu_seconds > 0.0) {
      cpu += p.process_cpu_seconds;
      series += static_cast<double>(p.series);
    }
  return series > 0.0 ? cpu / series : 0.0;
}

CpuBound cpu_bound_answer(double cpu_per_series, const CapacityQuestion& q) {
  CpuBound c;
  c.cpu_seconds_per_series = cpu_per_series;
  if (!(cpu_per_series > 0.0)) return c;
  c.cores = static_cast<std::int64_t>(std::max(1.0, std::ceil(q.series * cpu_per_series / q.window_seconds - 1e-9)));
  c.machines = (c.cores + q.cores_per_machine - 1) / q.cores_per_machine;
  return c;
}

double predict_wall_seconds(const CostModel& model, double series, int cores) {
  return model.fixed_seconds + series * model.seconds_per_series / (cores * efficiency_at(model, cores));
}

double merge_seconds(const MergeCost& merge, const NetworkAssumption& network, std::int64_t machines) {
  if (machines <= 1) return 0.0;
  const double rounds = std::ceil(std::log2(static_cast<double>(machines)));
  return rounds * (merge.pack_seconds + network.latency_seconds + static_cast<double>(merge.bytes) / network.bytes_per_second + merge.merge_seconds);
}

CapacityAnswer answer_capacity(const CostModel& model, const MergeCost& merge, const CapacityQuestion& q) {
  if (!(q.series > 0.0) || !std::isfinite(q.series)) throw std::invalid_argument(fmt::format("--series must be a positive number, got {}", q.series));
  if (!(q.window_seconds > 0.0) || !std::isfinite(q.window_seconds))
    throw std::invalid_argument(fmt::format("--window must be positive, got {} s", q.window_seconds));
  if (q.cores_per_machine < 1) throw std::invalid_argument(fmt::format("--cores-per-machine must be >= 1, got {}", q.cores_per_machine));
  if (q.machines < 0) throw std::invalid_argument(fmt::format("--machines must be >= 0 (0 = find), got {}", q.machines));
  if (!(q.network.bytes_per_second > 0.0) || !(q.network.latency_seconds >= 0.0))
    throw std::invalid_argument("the network bandwidth must be positive and the latency non-negative");

  CapacityAnswer ans;
  const double work = q.series * model.seconds_per_series;
  const double c = q.cores_per_machine;
  ans.cores_one_machine = cores_for(model, work, q.window_seconds - model.fixed_seconds);
  ans.core_hours = work / efficiency_at(model, c) / 3600.0;
  const auto wall_at = [&](std::int64_t k) {
    return model.fixed_seconds + work / (static_cast<double>(k) * c * efficiency_at(model, c)) + merge_seconds(merge, q.network, k);
  };

  std::int64_t k = q.machines;
  if (k == 0) {
    // The fewest machines that fit: compute shrinks as 1/K, the reduction grows as log2 K.
    constexpr std::int64_t kMaxMachines = 1'000'000;
    for (std::int64_t trial = 1; trial <= kMaxMachines; ++trial)
      if (wall_at(trial) <= q.window_seconds) {
        k = trial;
        break;
      }
    if (k == 0) {
      ans.feasible = false;
      ans.reason = fmt::format("no number of machines up to {} fits: the fixed overhead ({:.1f} s) plus the reduction exceed the window", kMaxMachines,
                               model.fixed_seconds);
      ans.machines = kMaxMachines;
      k = kMaxMachines;
    }
  }
  ans.machines = k;
  ans.total_cores = k * q.cores_per_machine;
  ans.communication_seconds = merge_seconds(merge, q.network, k);
  ans.compute_seconds = work / (static_cast<double>(k) * c * efficiency_at(model, c));
  ans.predicted_wall_seconds = wall_at(k);
  ans.cores_per_machine_needed =
      cores_for(model, work / static_cast<double>(k), q.window_seconds - model.fixed_seconds - ans.communication_seconds);
  if (ans.reason.empty()) {
    ans.feasible = ans.predicted_wall_seconds <= q.window_seconds;
    if (!ans.feasible)
      ans.reason = fmt::format("{} machine(s) x {} cores need {:.0f} s, more than the {:.0f} s window", k, q.cores_per_machine,
                               ans.predicted_wall_seconds, q.window_seconds);
  }
  return ans;
}

double parse_window_seconds(std::string_view text) {
  const auto bad = [&]() {
    return std::invalid_argument(fmt::format("bad --window '{}': expected a duration such as 2h, 90m, 1h30m, 3600s, 1d or 2.5h", text));
  };
  if (text.empty()) throw bad();
  double total = 0.0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0 || text[i] == '.')) ++i;
    if (i == start || i == text.size()) throw bad();
    double value = 0.0;
    try {
      std::size_t used = 0;
      value = std::stod(std::string(text.substr(start, i - start)), &used);
      if (used != i - start) throw bad();
    } catch (const std::logic_error&) {
      throw bad();
    }
    double unit = 0.0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: throw bad();
    }
    ++i;
    total += value * unit;
  }
  if (!(total > 0.0) || !std::isfinite(total)) throw bad();
  return total;
}

nlohmann::json to_json(const CapacityPoint& p) {
  return {{"series", p.series},
          {"threads", p.threads},
          {"wall_seconds", p.wall_seconds},
          {"read_seconds", p.read_seconds},
          {"write_seconds", p.write_seconds},
          {"fit_and_score_cpu_seconds", p.fit_cpu_seconds},
          {"evaluate_cpu_seconds", p.evaluate_cpu_seconds},
          {"generate_seconds", p.generate_seconds},
          {"process_cpu_seconds", p.process_cpu_seconds},
          {"cpu_us_per_series", 1e6 * p.process_cpu_seconds / static_cast<double>(p.series)},
          {"peak_rss_bytes", p.peak_rss_bytes},
          {"file_bytes", p.file_bytes},
          {"series_per_second", static_cast<double>(p.series) / p.wall_seconds},
          {"io_share", (p.read_seconds + p.write_seconds) / p.wall_seconds},
          {"bytes_per_series_on_disk", static_cast<double>(p.file_bytes) / static_cast<double>(p.series)}};
}

CapacityPoint capacity_point_from_json(const nlohmann::json& j) {
  try {
    CapacityPoint p;
    p.series = j.at("series").get<std::int64_t>();
    p.threads = j.at("threads").get<int>();
    p.wall_seconds = j.at("wall_seconds").get<double>();
    p.read_seconds = j.value("read_seconds", 0.0);
    p.write_seconds = j.value("write_seconds", 0.0);
    p.fit_cpu_seconds = j.value("fit_and_score_cpu_seconds", 0.0);
    p.evaluate_cpu_seconds = j.value("evaluate_cpu_seconds", 0.0);
    p.generate_seconds = j.value("generate_seconds", 0.0);
    p.process_cpu_seconds = j.value("process_cpu_seconds", 0.0);
    p.peak_rss_bytes = j.value("peak_rss_bytes", std::uint64_t{0});
    p.file_bytes = j.value("file_bytes", std::uint64_t{0});
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("bad capacity run {}: {}", j.dump(), e.what()));
  }
}

nlohmann::json to_json(const MergeCost& m) {
  return {{"bytes", m.bytes}, {"pack_seconds", m.pack_seconds}, {"merge_seconds", m.merge_seconds}};
}

MergeCost merge_cost_from_json(const nlohmann::json& j) {
  try {
    return {j.at("bytes").get<std::uint64_t>(), j.at("pack_seconds").get<double>(), j.at("merge_seconds").get<double>()};
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("bad merge measurement {}: {}", j.dump(), e.what()));
  }
}

nlohmann::json to_json(const CostModel& m) {
  return {{"fixed_seconds", m.fixed_seconds},
          {"seconds_per_series_per_core", m.seconds_per_series},
          {"parallel_efficiency", m.parallel_efficiency},
          {"efficiency_measured", m.efficiency_measured},
          {"rms_residual_seconds", m.rms_residual_seconds},
          {"points", m.points},
          {"fixed_clamped_to_zero", m.fixed_clamped},
          {"formula", "wall = fixed + series x t / (cores x E), E = 1 at one core"}};
}

nlohmann::json to_json(const CapacityAnswer& a) {
  return {{"feasible", a.feasible},
          {"reason", a.reason},
          {"cores_one_machine", a.cores_one_machine},
          {"machines", a.machines},
          {"total_cores", a.total_cores},
          {"cores_per_machine_needed", a.cores_per_machine_needed},
          {"predicted_wall_seconds", a.predicted_wall_seconds},
          {"compute_seconds", a.compute_seconds},
          {"communication_seconds", a.communication_seconds},
          {"core_hours", a.core_hours}};
}

}  // namespace meterbench
