// SPDX-License-Identifier: MIT
/// @file print.hpp
/// The few pieces of Python the tutorial examples lean on: `module._parameters.keys()`, indexing
/// `t[-1]` and `t[:, a:b]`, `(a == b).all()` printed as `True`/`False`, and `print(tensor)` (`tensor_str`).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include <seqnet/seqnet.hpp>

namespace py {

using seqnet::Index;
using seqnet::Tensor;

/// What Python prints for `module._parameters.keys()`: `odict_keys(['weight_ih_l0', ...])`.
template <typename Module>
std::string odict_keys(const Module& module) {
  std::string keys;
  for (const auto& [name, parameter] : module.named_parameters()) keys += (keys.empty() ? "'" : ", '") + name + "'";
  return "odict_keys([" + keys + "])";
}

/// `t[i]` along the first dimension; a negative `i` counts from the end, so `at(out, -1)` is `out[-1]`.
template <typename T, int R>
Tensor<T, R - 1> at(const Tensor<T, R>& t, Index i) {
  return t.template chip<0>(i < 0 ? t.dimension(0) + i : i);
}

/// `t[:, begin:end]` of a matrix.
template <typename T>
Tensor<T, 2> columns(const Tensor<T, 2>& t, Index begin, Index end) {
  const Eigen::array<Index, 2> offsets{0, begin};
  const Eigen::array<Index, 2> extents{t.dimension(0), end - begin};
  return t.slice(offsets, extents);
}

/// `(a == b).all()`, exactly: same shape, and every element equal bit for bit.
template <typename T, int R>
bool all_equal(const Tensor<T, R>& a, const Tensor<T, R>& b) {
  if (seqnet::shape(a) != seqnet::shape(b)) return false;
  for (Index i = 0; i < a.size(); ++i)
    if (!(a.data()[i] == b.data()[i]) || std::memcmp(a.data() + i, b.data() + i, sizeof(T)) != 0) return false;
  return true;
}

/// Python's spelling of a bool.
inline const char* str(bool value) { return value ? "True" : "False"; }

/// Prints `<expression>: True` when `a` and `b` are exactly equal (see `all_equal`), else `<expression>: False`.
template <typename T, int R>
void check(const std::string& expression, const Tensor<T, R>& a, const Tensor<T, R>& b) {
  std::cout << expression << ": " << str(all_equal(a, b)) << '\n';
}

/// PyTorch's number formatting for one float tensor (`torch._tensor_str._Formatter`, default print options:
/// precision 4): fixed point, integers as `1.`, or scientific when the nonzero magnitudes span more than
/// 1000x, exceed 1e8 or (for non-integers) fall below 1e-4; every value right-aligned to a common width.
class Formatter {
 public:
  template <typename T>
  explicit Formatter(const T* values, Index count) {
    std::vector<double> nonzero;
    for (Index i = 0; i < count; ++i) {
      const double v = static_cast<double>(values[i]);
      if (std::isfinite(v) && v != 0.0) nonzero.push_back(v);
    }
    if (nonzero.empty()) return;
    double lo = HUGE_VAL, hi = 0.0;
    for (double v : nonzero) {
      lo = std::min(lo, std::fabs(v));
      hi = std::max(hi, std::fabs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    sci_mode_ = hi / lo > 1000.0 || hi > 1e8 || (!int_mode_ && lo < 1e-4);
    for (double v : nonzero) {
      const std::size_t length = sci_mode_ ? printf_str("%.4e", v).size()
                                 : int_mode_ ? printf_str("%.0f", v).size() + 1
                                             : printf_str("%.4f", v).size();
      width_ = std::max(width_, length);
    }
  }

  std::size_t width() const { return width_; }

  std::string format(double v) const {
    std::string text;
    if (!std::isfinite(v)) {
      text = std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
    } else if (sci_mode_) {
      text = printf_str("%.4e", v);
    } else if (int_mode_) {
      text = printf_str("%.0f", v) + ".";
    } else {
      text = printf_str("%.4f", v);
    }
    return std::string(width_ > text.size() ? width_ - text.size() : 0, ' ') + text;
  }

 private:
  static std::string printf_str(const char* format, double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), format, v);
    return buffer;
  }

  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

namespace detail {

/// `torch._tensor_str._tensor_str_with_formatter` for the `count` values at `data` with extents `dims`.
template <typename T>
std::string tensor_body(const T* data, const Index* dims, int rank, std::size_t indent, const Formatter& f) {
  if (rank == 0) return f.format(static_cast<double>(*data));
  if (rank == 1) {
    const std::size_t element = f.width() + 2;  // ", " between elements
    const std::size_t per_line = std::max<std::size_t>(1, (80 - std::min<std::size_t>(indent, 80)) / element);
    std::string out = "[";
    for (Index i = 0; i < dims[0]; ++i) {
      if (i > 0) out += static_cast<std::size_t>(i) % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
      out += f.format(static_cast<double>(data[i]));
    }
    return out + "]";
  }
  Index stride = 1;
  for (int k = 1; k < rank; ++k) stride *= dims[k];
  std::string out = "[";
  for (Index i = 0; i < dims[0]; ++i) {
    if (i > 0) out += "," + std::string(static_cast<std::size_t>(rank - 1), '\n') + std::string(indent + 1, ' ');
    out += tensor_body(data + i * stride, dims + 1, rank - 1, indent + 1, f);
  }
  return out + "]";
}

}  // namespace detail

/// What Python prints for `print(t)` of a float tensor, e.g. `tensor([[ 0.8536,  0.6441, -0.1695]])`,
/// line-wrapped at 80 columns as PyTorch wraps, with `dtype=torch.float64` for double tensors and `size=`
/// for empty ones. Tensors over 1000 elements are printed in full (PyTorch would summarise them with `...`).
/// seqnet has no autograd, so there is never a `grad_fn=` suffix.
template <typename T, int R>
std::string tensor_str(const Tensor<T, R>& t) {
  const std::string prefix = "tensor(";
  std::vector<std::string> suffixes;
  std::string body;
  if (t.size() == 0) {
    body = "[]";
    if (R != 1) {
      std::string size = "size=(";
      for (int k = 0; k < R; ++k) size += (k ? ", " : "") + std::to_string(t.dimension(k));
      suffixes.push_back(size + ")");
    }
  } else {
    std::vector<Index> dims(static_cast<std::size_t>(R));
    for (int k = 0; k < R; ++k) dims[static_cast<std::size_t>(k)] = t.dimension(k);
    body = detail::tensor_body(t.data(), dims.data(), R, prefix.size(), Formatter(t.data(), t.size()));
  }
  if (std::is_same_v<T, double>) suffixes.push_back("dtype=torch.float64");
  // torch._tensor_str._add_suffixes: a suffix that would pass 80 columns goes on its own line.
  std::string out = prefix + body;
  const std::size_t newline = out.rfind('\n');
  std::size_t last_line = newline == std::string::npos ? out.size() + 2 : out.size() - newline + 1;
  for (const std::string& suffix : suffixes) {
    if (last_line + suffix.size() + 2 > 80) {
      out += ",\n" + std::string(prefix.size(), ' ') + suffix;
      last_line = prefix.size() + suffix.size();
    } else {
      out += ", " + suffix;
      last_line += suffix.size() + 2;
    }
  }
  return out + ")";
}

}  // namespace py
