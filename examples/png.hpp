// SPDX-License-Identifier: MIT
// A minimal PNG writer (8-bit RGB, uncompressed deflate blocks) and a canvas to draw plots on, so the
// examples can write a picture with no library beyond the standard one. Example code.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

struct Rgb {
  std::uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background)
      : width_(width), height_(height), pixels_(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), background) {}

  int width() const { return width_; }
  int height() const { return height_; }

  void set(int x, int y, Rgb color) {
    if (x >= 0 && x < width_ && y >= 0 && y < height_) pixels_[static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)] = color;
  }
  void fill(int x0, int y0, int x1, int y1, Rgb color) {
    for (int y = std::max(0, y0); y < std::min(height_, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(width_, x1); ++x) set(x, y, color);
  }
  // A line, a few pixels thick (Bresenham, stamped with a square).
  void line(int x0, int y0, int x1, int y1, Rgb color, int thickness = 1) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    for (int err = dx + dy;;) {
      fill(x0 - thickness / 2, y0 - thickness / 2, x0 - thickness / 2 + thickness, y0 - thickness / 2 + thickness, color);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  void write_png(const std::string& path) const {
    std::vector<std::uint8_t> raw;  // each row: filter type 0, then RGB
    raw.reserve(static_cast<std::size_t>(height_) * (1 + 3 * static_cast<std::size_t>(width_)));
    for (int y = 0; y < height_; ++y) {
      raw.push_back(0);
      for (int x = 0; x < width_; ++x) {
        const Rgb& p = pixels_[static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)];
        raw.insert(raw.end(), {p.r, p.g, p.b});
      }
    }
    std::vector<std::uint8_t> zlib{0x78, 0x01};  // deflate, no compression: stored blocks of at most 65535 bytes
    for (std::size_t at = 0; at < raw.size() || at == 0; at += 65535) {
      const std::size_t n = std::min<std::size_t>(65535, raw.size() - at);
      zlib.push_back(at + n == raw.size() ? 1 : 0);
      zlib.insert(zlib.end(), {std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(~n), std::uint8_t(~n >> 8)});
      zlib.insert(zlib.end(), raw.begin() + static_cast<std::ptrdiff_t>(at), raw.begin() + static_cast<std::ptrdiff_t>(at + n));
      if (n == 0) break;
    }
    std::uint32_t a = 1, b = 0;  // Adler-32
    for (std::uint8_t v : raw) {
      a = (a + v) % 65521;
      b = (b + a) % 65521;
    }
    append_be(zlib, b << 16 | a);

    std::vector<std::uint8_t> header;
    append_be(header, static_cast<std::uint32_t>(width_));
    append_be(header, static_cast<std::uint32_t>(height_));
    header.insert(header.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, filter 0, no interlace

    std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    chunk(png, "IHDR", header);
    chunk(png, "IDAT", zlib);
    chunk(png, "IEND", {});
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    if (!file) throw std::runtime_error("cannot write " + path);
  }

 private:
  static void append_be(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.insert(out.end(), {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)});
  }
  static void chunk(std::vector<std::uint8_t>& png, const char* type, const std::vector<std::uint8_t>& data) {
    append_be(png, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    std::uint32_t crc = 0xffffffffu;  // CRC-32 of type and data
    for (std::size_t i = start; i < png.size(); ++i) {
      crc ^= png[i];
      for (int k = 0; k < 8; ++k) crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
    }
    append_be(png, ~crc);
  }

  int width_, height_;
  std::vector<Rgb> pixels_;
};
