#pragma once
// A labelled heatmap as a PNG: one cell per value in [0, 1], coloured from dark blue (0) to
// yellow (1) with the value printed in it, row labels on the left and column labels on top.
// For attention probes, where a figure is what a reader wants first.
#include <array>
#include <string>
#include <vector>

namespace vkllm {

struct Heatmap {
  std::vector<std::string> row_labels, column_labels;
  std::vector<std::vector<double>> values;  // [row][column]
  std::vector<size_t> separators_before;    // rows that start a new group (a line above them)
};

// Throws Error on a shape mismatch or a file that cannot be written.
void write_heatmap_png(const Heatmap& h, const std::string& path);

// The colour of value v (clamped to [0, 1]) as RGB.
std::array<unsigned char, 3> heat_colour(double v);

}  // namespace vkllm
