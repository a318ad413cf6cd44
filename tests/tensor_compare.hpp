// Element-wise comparisons of seqnet tensors shared by the tests.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include <seqnet/seqnet.hpp>

namespace seqnet_test {

/// Same shape and every element bitwise equal (NaN never equals).
template <typename T, int R>
bool identical(const seqnet::Tensor<T, R>& a, const seqnet::Tensor<T, R>& b) {
  if (seqnet::shape(a) != seqnet::shape(b)) return false;
  for (seqnet::Index i = 0; i < a.size(); ++i)
    if (!(a.data()[i] == b.data()[i])) return false;
  return true;
}

/// Largest element-wise |a - b| (NaN if any difference is NaN); the shapes must match.
template <typename T, int R>
double max_abs_diff(const seqnet::Tensor<T, R>& a, const seqnet::Tensor<T, R>& b) {
  REQUIRE(seqnet::shape(a) == seqnet::shape(b));
  double worst = 0.0;
  for (seqnet::Index i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i]));
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/// The message of the `E` (by default any std::invalid_argument) that `f` throws; "" if it throws nothing.
template <typename E = std::invalid_argument, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace seqnet_test
