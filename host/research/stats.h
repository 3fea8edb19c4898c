#pragma once
// Paired statistics for comparing a condition against a baseline over the same cases.
#include <span>

namespace vkllm {

struct PairedStats {
  int n = 0;
  double mean_delta = 0;   // mean of (x - baseline)
  double win_rate = 0;     // share of cases with x < baseline (lower NLL wins)
  double cohens_d = 0;     // mean delta / standard deviation of the deltas (0 when they do not vary)
  double t_test_p = 1;     // paired t-test, two-sided
  double wilcoxon_p = 1;   // Wilcoxon signed-rank test, two-sided (normal approximation with tie correction)
};

PairedStats paired_stats(std::span<const double> x, std::span<const double> baseline);

// Two-sided p-value of Student's t with `dof` degrees of freedom.
double student_t_two_sided_p(double t, double dof);

}  // namespace vkllm
