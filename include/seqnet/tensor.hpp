// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
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
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<Index> dims) : dims_(dims) {}
  explicit Shape(std::vector<Index> dims) : dims_(std::move(dims)) {}
  template <typename Dimensions>
  static Shape of_dimensions(const Dimensions& dims) {
    Shape shape;
    for (std::size_t i = 0; i < static_cast<std::size_t>(dims.size()); ++i) shape.dims_.push_back(static_cast<Index>(dims[i]));
    return shape;
  }

  Index rank() const noexcept { return static_cast<Index>(dims_.size()); }
  Index operator[](Index i) const { return dims_.at(static_cast<std::size_t>(i)); }
  /// Number of elements (1 for rank 0).
  Index numel() const noexcept {
    Index n = 1;
    for (Index d : dims_) n *= d;
    return n;
  }
  const std::vector<Index>& dims() const noexcept { return dims_; }
  auto begin() const noexcept { return dims_.begin(); }
  auto end() const noexcept { return dims_.end(); }

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  /// `[10, 3, 20]`: the form PyTorch uses for actual shapes in its messages.
  std::string str() const { return joined('[', ']'); }
  /// `(10, 3, 20)`: the form PyTorch uses for expected shapes (a Python tuple).
  std::string tuple_str() const {
    if (dims_.size() == 1) return "(" + std::to_string(dims_[0]) + ",)";
    return joined('(', ')');
  }

  friend std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape.str(); }

 private:
  std::string joined(char open, char close) const {
    std::ostringstream s;
    s << open;
    for (std::size_t i = 0; i < dims_.size(); ++i) s << (i ? ", " : "") << dims_[i];
    s << close;
    return s.str();
  }
  std::vector<Index> dims_;
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
