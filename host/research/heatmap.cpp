#include "host/research/heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <stb_easy_font.h>
#include <stb_image_write.h>

#include "runtime/error.h"

namespace vkllm {

namespace {

constexpr int kCellW = 48, kCellH = 16, kMargin = 6, kTextH = 8;

struct Canvas {
  int width, height;
  std::vector<unsigned char> rgb;
  Canvas(int w, int h) : width(w), height(h), rgb(size_t(w) * size_t(h) * 3, 255) {}
  void fill(int x0, int y0, int x1, int y1, std::array<unsigned char, 3> c) {
    for (int y = std::max(0, y0); y < std::min(height, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(width, x1); ++x)
        std::copy(c.begin(), c.end(), rgb.begin() + (size_t(y) * size_t(width) + size_t(x)) * 3);
  }
  // stb_easy_font draws text as axis-aligned quads: fill each one.
  void text(int x, int y, const std::string& s, std::array<unsigned char, 3> c) {
    struct Vertex {
      float x, y, z;
      unsigned char colour[4];
    };
    std::vector<Vertex> quads(s.size() * 64 + 64);
    std::string copy = s;
    const int n = stb_easy_font_print(float(x), float(y), copy.data(), nullptr, quads.data(), int(quads.size() * sizeof(Vertex)));
    for (int q = 0; q < n; ++q) {
      const Vertex* v = &quads[size_t(q) * 4];
      fill(int(v[0].x), int(v[0].y), int(v[2].x), int(v[2].y), c);
    }
  }
};

int text_width(const std::string& s) {
  std::string copy = s;
  return stb_easy_font_width(copy.data());
}

}  // namespace

std::array<unsigned char, 3> heat_colour(double v) {
  // Anchors of a perceptually ordered ramp (close to viridis): dark blue, teal, green, yellow.
  static constexpr double anchors[4][3] = {{68, 1, 84}, {49, 104, 142}, {53, 183, 121}, {253, 231, 37}};
  const double t = std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0) * 3.0;
  const int i = std::min(int(t), 2);
  const double f = t - i;
  std::array<unsigned char, 3> c{};
  for (int k = 0; k < 3; ++k) c[size_t(k)] = (unsigned char)std::lround(anchors[i][k] + f * (anchors[i + 1][k] - anchors[i][k]));
  return c;
}

void write_heatmap_png(const Heatmap& h, const std::string& path) {
  const size_t rows = h.values.size(), cols = h.column_labels.size();
  if (h.row_labels.size() != rows) throw Error("heatmap: one label per row");
  for (const auto& r : h.values)
    if (r.size() != cols) throw Error("heatmap: every row needs one value per column");
  int label_w = 0;
  for (const auto& l : h.row_labels) label_w = std::max(label_w, text_width(l));
  int column_w = kCellW;
  for (const auto& l : h.column_labels) column_w = std::max(column_w, text_width(l) + 4);
  const int x0 = kMargin + label_w + kMargin, y0 = kMargin + kTextH + kMargin;
  Canvas canvas(x0 + int(cols) * column_w + kMargin, y0 + int(rows) * kCellH + kMargin);
  const std::array<unsigned char, 3> black{0, 0, 0}, white{255, 255, 255};
  for (size_t c = 0; c < cols; ++c) canvas.text(x0 + int(c) * column_w + 2, kMargin, h.column_labels[c], black);
  for (size_t r = 0; r < rows; ++r) {
    const int y = y0 + int(r) * kCellH;
    canvas.text(kMargin, y + (kCellH - kTextH) / 2 + 1, h.row_labels[r], black);
    for (size_t c = 0; c < cols; ++c) {
      const double v = h.values[r][c];
      const int x = x0 + int(c) * column_w;
      canvas.fill(x, y, x + column_w, y + kCellH, heat_colour(v));
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.2f", v);
      canvas.text(x + 3, y + (kCellH - kTextH) / 2 + 1, buf, v > 0.6 ? black : white);
    }
  }
  for (size_t r : h.separators_before)
    if (r > 0 && r < rows) canvas.fill(kMargin, y0 + int(r) * kCellH - 1, canvas.width - kMargin, y0 + int(r) * kCellH + 1, black);
  if (!stbi_write_png(path.c_str(), canvas.width, canvas.height, 3, canvas.rgb.data(), canvas.width * 3))
    throw Error("cannot write " + path);
}

}  // namespace vkllm
