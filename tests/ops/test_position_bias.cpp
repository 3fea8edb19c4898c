// T5's relative position bias: the buckets of distances (T5's own published values), and the
// per-head mask the GPU builds from them against the host reference, with gaps in positions.
#include <numeric>

#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
int32_t bucket_of(const std::vector<int32_t>& by_distance, int rel, bool bidirectional, int num_buckets) {
  const int distance = bidirectional ? std::abs(rel) : std::max(-rel, 0);
  return (bidirectional && rel > 0 ? num_buckets / 2 : 0) + by_distance[size_t(std::min<int>(distance, int(by_distance.size()) - 1))];
}
}  // namespace

TEST_CASE("relative position buckets are T5's: exact up close, logarithmic to max_distance, then the last") {
  const auto encoder = ops::relative_position_buckets(32, 128, true), decoder = ops::relative_position_buckets(32, 128, false);
  CHECK(encoder.size() == 129);
  const std::vector<std::pair<int, int>> bidirectional{{0, 0},    {-1, 1},   {1, 17},   {-7, 7},   {-8, 8},     {-11, 8},
                                                       {-12, 9},  {-16, 10}, {-23, 11}, {-32, 12}, {-64, 14},   {-127, 15},
                                                       {-128, 15}, {-1000, 15}, {8, 24}, {16, 26}, {1000, 31}};
  for (auto [rel, bucket] : bidirectional) {
    CAPTURE(rel);
    CHECK(bucket_of(encoder, rel, true, 32) == bucket);
  }
  // Causal: keys after the query share bucket 0; all 32 buckets go to keys before it.
  const std::vector<std::pair<int, int>> causal{{5, 0}, {0, 0}, {-5, 5}, {-15, 15}, {-16, 16}, {-20, 17}, {-127, 31}, {-500, 31}};
  for (auto [rel, bucket] : causal) {
    CAPTURE(rel);
    CHECK(bucket_of(decoder, rel, false, 32) == bucket);
  }
}

TEST_CASE_FIXTURE(GpuTest, "position_bias matches the host reference for every head, query and key") {
  Device& d = gpu();
  for (const bool bidirectional : {true, false})
    for (int heads : {1, 3, 12})
      for (auto [n_q, n_kv] : {std::pair<int64_t, int64_t>{1, 1}, {1, 300}, {7, 17}, {33, 200}}) {
        CAPTURE(bidirectional);
        CAPTURE(heads);
        CAPTURE(n_q);
        CAPTURE(n_kv);
        const ref::Mat table = random_mat(32, heads, 40);
        const auto by_distance = ops::relative_position_buckets(32, 128, bidirectional);
        std::vector<int32_t> key_pos(static_cast<size_t>(n_kv)), query_pos(static_cast<size_t>(n_q));
        for (int64_t t = 0; t < n_kv; ++t) key_pos[size_t(t)] = int32_t(t < 5 ? t : t + 40);  // a gap, as after select
        for (int64_t i = 0; i < n_q; ++i) query_pos[size_t(i)] = int32_t(3 * i + 20);
        Tensor tt = to_device(d, table), tb = d.tensor(DType::I32, 1, int64_t(by_distance.size()));
        Tensor tk = d.tensor(DType::I32, 1, n_kv), tq = d.tensor(DType::I32, 1, n_q), out = d.tensor(DType::F32, heads * n_q, n_kv);
        d.upload(tb, by_distance.data());
        d.upload(tk, key_pos.data());
        d.upload(tq, query_pos.data());
        Graph g(d);
        ops::position_bias(g, tt, tb, bidirectional, tk, tq, out);
        g.run();
        CHECK(to_host(d, out).v == ref::position_bias(table, by_distance, bidirectional, key_pos, query_pos).v);
      }
}
