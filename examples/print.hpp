// SPDX-License-Identifier: MIT
/// @file print.hpp
/// The few pieces of Python the tutorial examples lean on: `module._parameters.keys()`, indexing
/// `t[-1]` and `t[:, a:b]`, and `(a == b).all()` printed as `True`/`False`.
#pragma once

#include <cstring>
#include <iostream>
#include <string>

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

}  // namespace py
