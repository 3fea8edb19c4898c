// The heatmap PNG: what a reader of a probe sees is the values' colours in a labelled grid.
#include <filesystem>

#include <doctest/doctest.h>
#include <stb_image.h>

#include "host/research/heatmap.h"
#include "runtime/error.h"
#include "tests/test_util.h"

using namespace vkllm;

TEST_SUITE_BEGIN("host");

TEST_CASE("a heatmap PNG shows each value's colour, low to high, in its cell") {
  CHECK(heat_colour(0.0) != heat_colour(1.0));
  CHECK(heat_colour(-3.0) == heat_colour(0.0));  // clamped
  CHECK(heat_colour(7.0) == heat_colour(1.0));
  const auto dark = heat_colour(0.0), bright = heat_colour(1.0);
  CHECK(dark[0] + dark[1] + dark[2] < bright[0] + bright[1] + bright[2]);

  Heatmap h;
  h.row_labels = {"bare L0", "full L0", "full L1"};
  h.column_labels = {"bos", "document"};
  h.values = {{0.0, 1.0}, {0.25, 0.75}, {1.0, 0.0}};
  h.separators_before = {1};
  const auto path = test::temp_path("heatmap.png");
  write_heatmap_png(h, path);
  int w = 0, hgt = 0, channels = 0;
  unsigned char* px = stbi_load(path.c_str(), &w, &hgt, &channels, 3);
  REQUIRE(px);
  // Find the cells' colours: the last row's two cells are 1.0 then 0.0, left to right.
  int first_bright = -1, first_dark_after = -1;
  const int y = hgt - 8;  // inside the last row, away from its text
  for (int x = 0; x < w; ++x) {
    const unsigned char* p = px + (size_t(y) * size_t(w) + size_t(x)) * 3;
    const std::array<unsigned char, 3> c{p[0], p[1], p[2]};
    if (c == bright && first_bright < 0) first_bright = x;
    if (c == dark && first_bright >= 0 && first_dark_after < 0) first_dark_after = x;
  }
  stbi_image_free(px);
  CHECK(first_bright > 0);
  CHECK(first_dark_after > first_bright);
  h.values.pop_back();
  CHECK_THROWS_AS(write_heatmap_png(h, path), Error);
  std::filesystem::remove(path);
}

TEST_SUITE_END();
