#pragma once
// Distribution functions the baselines need: the regularized incomplete beta function, the Student-t upper
// tail and its inverse, and the critical values of the generalized ESD test (Rosner 1983).
// Accuracy: the incomplete beta continued fraction is iterated to a relative step below 1e-15, and the
// quantile is solved by safeguarded Newton steps to a relative change below 1e-13; the tests check the
// quantile against closed forms (1 and 2 degrees of freedom) to 1e-9 relative and against tabulated values.
// All functions are pure and thread-safe (log-gamma through the reentrant lgamma_r). The stl-esd detector
// tabulates its critical values once, in its constructor, so detect() never evaluates them.

namespace meterbench::baseline {

/// I_x(a, b) for a, b > 0, with y = 1 - x passed separately so tails keep full precision.
double regularized_incomplete_beta(double a, double b, double x, double y);

/// P(T > t) for Student's t with `nu` > 0 degrees of freedom.
double student_t_upper_tail(double t, double nu);

/// The t with P(T > t) = q, for 0 < q < 1 (negative for q > 1/2). Tail-parameterized so that extreme
/// quantiles such as q = 1e-9 keep their precision.
double student_t_upper_quantile(double q, double nu);

/// Rosner's critical value lambda for the generalized ESD step whose current sample has `m` >= 3 points:
/// lambda = (m - 1) t / sqrt((m - 2 + t^2) m), t = the Student-t quantile with m - 2 degrees of freedom
/// and upper tail alpha / (2 m).
double esd_critical_value(double m, double alpha);

}  // namespace meterbench::baseline
