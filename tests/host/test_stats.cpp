// Paired statistics against values computed by hand or by standard tables.
#include <vector>

#include "host/research/stats.h"
#include "tests/test_util.h"

using namespace vkllm;

TEST_SUITE_BEGIN("host");

TEST_CASE("Student t p-values match tables") {
  CHECK(student_t_two_sided_p(0.0, 5) == doctest::Approx(1.0));
  CHECK(student_t_two_sided_p(2.571, 5) == doctest::Approx(0.05).epsilon(1e-3));   // t(0.975, 5)
  CHECK(student_t_two_sided_p(-2.228, 10) == doctest::Approx(0.05).epsilon(1e-3));  // t(0.975, 10)
  CHECK(student_t_two_sided_p(12.706, 1) == doctest::Approx(0.05).epsilon(1e-3));   // t(0.975, 1)
}

TEST_CASE("paired statistics: delta, win rate, Cohen's d, t-test and Wilcoxon") {
  const std::vector<double> baseline{5, 6, 7, 8, 9, 10};
  const std::vector<double> x{4, 5.5, 6, 8.5, 8, 9};  // deltas -1, -0.5, -1, 0.5, -1, -1
  const PairedStats s = paired_stats(x, baseline);
  CHECK(s.n == 6);
  CHECK(s.mean_delta == doctest::Approx(-4.0 / 6));
  CHECK(s.win_rate == doctest::Approx(5.0 / 6));
  // sd of the deltas: sqrt(sum (d - mean)^2 / 5)
  const double sd = std::sqrt((4 * (1.0 / 9) + (1.0 / 36) + (49.0 / 36)) / 5);
  CHECK(s.cohens_d == doctest::Approx(-4.0 / 6 / sd));
  CHECK(s.t_test_p == doctest::Approx(student_t_two_sided_p(-4.0 / 6 / (sd / std::sqrt(6.0)), 5)));
  CHECK(s.t_test_p < 0.05);
  // Wilcoxon: |d| ranks: 0.5 (x2) -> 1.5 each, 1 (x4) -> 4.5 each; W+ = 1.5 (the +0.5).
  CHECK(s.wilcoxon_p > 0.05);  // six pairs cannot reach 0.05 with one positive rank
  CHECK(s.wilcoxon_p < 0.15);
  const PairedStats same = paired_stats(baseline, baseline);
  CHECK(same.mean_delta == 0);
  CHECK(same.t_test_p == 1.0);
  CHECK(same.wilcoxon_p == 1.0);
}

TEST_SUITE_END();
