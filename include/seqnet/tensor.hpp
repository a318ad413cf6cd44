// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <unsupported/Eigen/CXX11/Tensor>

namespace seqnet {

using Index = Eigen::Index;

/// A dense tensor whose memory order equals a contiguous PyTorch tensor (row-major).
template <typename T, int Rank>
using Tensor = Eigen::Tensor<T, Rank, Eigen::RowMajor, Index>;

/// The extents of a tensor or parameter, printed like PyTorch's `torch.Size` contents: `[10, 3, 20]`.
/// Up to `max_rank` dimensions, stored inline so that shape checks never touch the heap.
class Shape {
 public:
  static constexpr std::size_t max_rank = 8;

  Shape() = default;
  Shape(std::initializer_list<Index> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<Index>& dims) { assign(dims.begin(), dims.end()); }
  template <typename Dimensions>
  static Shape of_dimensions(const Dimensions& dims) {
    Shape shape;
    shape.check_rank(static_cast<std::size_t>(dims.size()));
    for (std::size_t i = 0; i < static_cast<std::size_t>(dims.size()); ++i) shape.dims_[i] = static_cast<Index>(dims[i]);
    shape.rank_ = static_cast<std::size_t>(dims.size());
    return shape;
  }

  Index rank() const noexcept { return static_cast<Index>(rank_); }
  Index operator[](Index i) const {
    if (i < 0 || static_cast<std::size_t>(i) >= rank_) throw std::out_of_range("Shape index out of range");
    return dims_[static_cast<std::size_t>(i)];
  }
  /// Number of elements (1 for rank 0).
  Index numel() const noexcept {
    Index n = 1;
    for (Index d : *this) n *= d;
    return n;
  }
  /// The extents as a vector.
  std::vector<Index> dims() const { return std::vector<Index>(begin(), end()); }
  const Index* begin() const noexcept { return dims_.data(); }
  const Index* end() const noexcept { return dims_.data() + rank_; }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  /// `[10, 3, 20]`: the form PyTorch uses for actual shapes in its messages.
  std::string str() const { return joined('[', ']'); }
  /// `(10, 3, 20)`: the form PyTorch uses for expected shapes (a Python tuple).
  std::string tuple_str() const {
    if (rank_ == 1) return "(" + std::to_string(dims_[0]) + ",)";
    return joined('(', ')');
  }

  friend std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape.str(); }

 private:
  template <typename It>
  void assign(It first, It last) {
    check_rank(static_cast<std::size_t>(std::distance(first, last)));
    rank_ = static_cast<std::size_t>(std::copy(first, last, dims_.begin()) - dims_.begin());
  }
  static void check_rank(std::size_t rank) {
    if (rank > max_rank) throw std::length_error("seqnet::Shape holds at most 8 dimensions");
  }
  std::string joined(char open, char close) const {
    std::ostringstream s;
    s << open;
    for (std::size_t i = 0; i < rank_; ++i) s << (i ? ", " : "") << dims_[i];
    s << close;
    return s.str();
  }
  std::array<Index, max_rank> dims_{};
  std::size_t rank_ = 0;
};

/// Shape of any Eigen tensor expression that has dimensions (Tensor, TensorMap).
template <typename TensorLike>
Shape shape(const TensorLike& tensor) {
  return Shape::of_dimensions(tensor.dimensions());
}

/// A tensor of zeros, e.g. `zeros<float>(1, 3, 20)`.
template <typename T, typename... Dims>
Tensor<T, static_cast<int>(sizeof...(Dims))> zeros(Dims... dims) {
  Tensor<T, static_cast<int>(sizeof...(Dims))> t(static_cast<Index>(dims)...);
  t.setZero();
  return t;
}

}  // namespace seqnet
