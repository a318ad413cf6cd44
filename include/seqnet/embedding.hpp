// SPDX-License-Identifier: MIT
/// @file embedding.hpp
/// `Embedding<T>`: PyTorch's `torch.nn.Embedding`, a lookup table from integer ids to vectors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "errors.hpp"
#include "module.hpp"
#include "options.hpp"
#include "random.hpp"
#include "tensor.hpp"

namespace seqnet {

/// Options of `Embedding<T>`, mirroring `torch::nn::EmbeddingOptions` (without max_norm, norm_type,
/// scale_grad_by_freq and sparse, which seqnet does not support).
/// Example: `Embedding<float> embeds(EmbeddingOptions(10, 3).padding_idx(0));`
struct EmbeddingOptions {
  EmbeddingOptions(Index num_embeddings, Index embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// Size of the vocabulary: ids run over [0, num_embeddings).
  SEQNET_ARG(Index, num_embeddings);
  /// Size of each vector.
  SEQNET_ARG(Index, embedding_dim);
  /// The id whose row is initialised to zeros (PyTorch also keeps it out of training). A negative value
  /// counts from the end, as in PyTorch: -1 is num_embeddings - 1. Default: none
  SEQNET_ARG(std::optional<Index>, padding_idx) = std::nullopt;
};

namespace detail {

/// `[3, 1]`: the multi-index of element `flat` of a row-major tensor with extents `dims`.
template <typename Dimensions>
std::string position_of(Index flat, const Dimensions& dims) {
  const std::size_t rank = static_cast<std::size_t>(dims.size());
  std::vector<Index> position(rank);
  for (std::size_t i = rank; i-- > 0;) {
    position[i] = flat % dims[i];
    flat /= dims[i];
  }
  return Shape(std::move(position)).str();
}

/// Whether `id` lies in [0, count), for signed and unsigned id types alike.
template <typename I>
bool id_in_range(I id, Index count) {
  if constexpr (std::is_signed_v<I>) {
    return id >= 0 && static_cast<std::int64_t>(id) < static_cast<std::int64_t>(count);
  } else {
    return static_cast<std::uint64_t>(id) < static_cast<std::uint64_t>(count);
  }
}

}  // namespace detail

/// Lookup table, `torch.nn.Embedding`: ids `[*]` (any rank, any integer type) -> vectors `[*, embedding_dim]`,
/// row `id` of the `weight` parameter `[num_embeddings, embedding_dim]`. The weight starts as N(0, 1) draws
/// from seqnet's generator, with the `padding_idx` row zeroed; load trained values with `from_pretrained`,
/// `parameter("weight").assign(...)` or `load_state_dict`. An id outside [0, num_embeddings) throws
/// `index_error` naming the id, its position and the valid range.
template <typename T>
class Embedding : public Module<T> {
 public:
  explicit Embedding(const EmbeddingOptions& options, Generator& generator = default_generator())
      : Embedding(options, Uninitialised{}) {
    reset_parameters(generator);
  }
  Embedding(Index num_embeddings, Index embedding_dim, std::optional<Index> padding_idx = std::nullopt,
            Generator& generator = default_generator())
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim).padding_idx(padding_idx), generator) {}

  /// PyTorch's `Embedding.from_pretrained(embeddings, freeze, padding_idx)`: a table holding a copy of
  /// `embeddings` `[num_embeddings, embedding_dim]`. As in PyTorch the `padding_idx` row is kept as given
  /// (not zeroed) and no random numbers are drawn. With `freeze` (PyTorch's default,
  /// `weight.requires_grad = False`) `backward` accumulates no gradient.
  static Embedding from_pretrained(const Tensor<T, 2>& embeddings, bool freeze = true,
                                   std::optional<Index> padding_idx = std::nullopt) {
    Embedding table(EmbeddingOptions(embeddings.dimension(0), embeddings.dimension(1)).padding_idx(padding_idx),
                    Uninitialised{});
    std::copy(embeddings.data(), embeddings.data() + embeddings.size(), table.params_.data());
    table.frozen_ = freeze;
    return table;
  }

  /// The options, with `padding_idx` normalised to [0, num_embeddings) as PyTorch stores it.
  const EmbeddingOptions& options() const noexcept { return options_; }
  Index num_embeddings() const noexcept { return options_.num_embeddings(); }
  Index embedding_dim() const noexcept { return options_.embedding_dim(); }
  /// The padding row, normalised to [0, num_embeddings) (`Embedding(10, 3, -1)` gives 9).
  std::optional<Index> padding_idx() const noexcept { return options_.padding_idx(); }
  /// PyTorch's `not weight.requires_grad`: true only for `from_pretrained(..., freeze=true)`; a frozen
  /// table's `backward` adds nothing to its gradient.
  bool frozen() const noexcept { return frozen_; }

  /// `[num_embeddings, embedding_dim]`.
  Parameter<T> weight() { return this->parameter("weight"); }
  Parameter<const T> weight() const { return this->parameter("weight"); }

  /// Re-draws the weight from N(0, 1) row by row and zeroes the `padding_idx` row, as PyTorch's `reset_parameters`.
  void reset_parameters(Generator& generator = default_generator()) {
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.normal());
    if (padding_idx()) std::fill_n(values + *padding_idx() * embedding_dim(), embedding_dim(), T(0));
  }

  /// `Embedding(2, 5)`, `Embedding(10, 3, padding_idx=0)`.
  std::string repr() const override {
    std::string s = detail::concat("Embedding(", num_embeddings(), ", ", embedding_dim());
    if (padding_idx()) s += detail::concat(", padding_idx=", *padding_idx());
    return s + ")";
  }

  /// Looks up every id: `[*]` -> `[*, embedding_dim]` (a rank-0 id gives one vector). Ids may be any
  /// integer type (PyTorch takes Long or Int). An id outside [0, num_embeddings) throws `index_error`:
  /// `index out of range in self: id 7 at position [3, 1] is not in [0, 5)` (PyTorch's IndexError text,
  /// then the details).
  template <typename I, int R>
  Tensor<T, R + 1> forward(const Tensor<I, R>& ids) const {
    static_assert(std::is_integral_v<I> && !std::is_same_v<I, bool>,
                  "Embedding looks up integer ids (PyTorch: Long or Int tensors)");
    Eigen::array<Index, R + 1> dims;
    for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = ids.dimension(i);
    dims[R] = embedding_dim();
    Tensor<T, R + 1> result(dims);
    lookup(ids.data(), ids.size(), result.data(), [&ids](Index k) { return detail::position_of(k, ids.dimensions()); });
    return result;
  }
  /// A list of ids `[n]` -> `[n, embedding_dim]`, e.g. `embeds({word_to_ix["hello"]})`.
  Tensor<T, 2> forward(const std::vector<std::int64_t>& ids) const {
    const Index n = static_cast<Index>(ids.size());
    Tensor<T, 2> result(n, embedding_dim());
    lookup(ids.data(), n, result.data(), [](Index k) { return Shape{k}.str(); });
    return result;
  }
  template <typename I, int R>
  Tensor<T, R + 1> operator()(const Tensor<I, R>& ids) const {
    return forward(ids);
  }
  Tensor<T, 2> operator()(const std::vector<std::int64_t>& ids) const { return forward(ids); }

  /// As `forward`, writing into the caller's `out` (resized only if its shape differs), so that repeated
  /// calls allocate nothing.
  template <typename I, int R>
  void forward_into(const Tensor<I, R>& ids, Tensor<T, R + 1>& out) const {
    static_assert(std::is_integral_v<I> && !std::is_same_v<I, bool>,
                  "Embedding looks up integer ids (PyTorch: Long or Int tensors)");
    Eigen::array<Index, R + 1> dims;
    for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = ids.dimension(i);
    dims[R] = embedding_dim();
    if (shape(out) != Shape::of_dimensions(dims)) out.resize(dims);
    lookup(ids.data(), ids.size(), out.data(), [&ids](Index k) { return detail::position_of(k, ids.dimensions()); });
  }

  /// What `backward` needs from a training forward: the ids and their shape. Owned by the caller and
  /// reused across steps: recording reallocates only when there are more ids than ever before.
  class Tape {
   public:
    /// Whether a `forward_train` has been recorded.
    bool recorded() const noexcept { return recorded_; }
    /// The shape of the recorded ids.
    const Shape& ids_shape() const noexcept { return ids_shape_; }

   private:
    friend class Embedding;
    std::vector<std::int64_t> ids_;
    Shape ids_shape_;
    Index num_embeddings_ = 0;  ///< of the table that checked the ids
    bool recorded_ = false;
  };

  /// `forward_into`, recording the ids into `tape` for `backward`.
  template <typename I, int R>
  void forward_train(const Tensor<I, R>& ids, Tensor<T, R + 1>& out, Tape& tape) const {
    forward_into(ids, out);
    tape.ids_.resize(static_cast<std::size_t>(ids.size()));
    for (Index k = 0; k < ids.size(); ++k) tape.ids_[static_cast<std::size_t>(k)] = static_cast<std::int64_t>(ids.data()[k]);
    tape.ids_shape_ = shape(ids);
    tape.num_embeddings_ = num_embeddings();
    tape.recorded_ = true;
  }

  /// Backward of the lookup recorded in `tape` for the upstream gradient `grad_output` (`[*ids, embedding_dim]`):
  /// adds each id's gradient row to row `id` of `gradient("weight")` (ids that occur twice add twice;
  /// gradients accumulate until `zero_grad()`, as in PyTorch). The `padding_idx` row gets nothing, and a
  /// frozen table (`from_pretrained(..., freeze=true)`) accumulates nothing at all.
  template <int R>
  void backward(const Tape& tape, const Tensor<T, R>& grad_output) {
    static_assert(R >= 1, "the gradient of an embedding lookup has rank >= 1: [*ids, embedding_dim]");
    SEQNET_CHECK(value_error, tape.recorded_, "Embedding.backward: the tape holds no forward pass; call forward_train first");
    SEQNET_CHECK(value_error, tape.num_embeddings_ == num_embeddings(), "Embedding.backward: the tape was recorded by a table of ",
                 tape.num_embeddings_, " embeddings, not ", num_embeddings());
    SEQNET_CHECK(shape_error, tape.ids_shape_.rank() == R - 1,
                 "Embedding.backward: the tape was recorded on ids of shape ", tape.ids_shape_.str(),
                 ", which give an output of rank ", tape.ids_shape_.rank() + 1, ", not ", R);
    bool same = grad_output.dimension(R - 1) == embedding_dim();
    for (int i = 0; i + 1 < R; ++i) same = same && grad_output.dimension(i) == tape.ids_shape_[i];
    SEQNET_CHECK(shape_error, same, "Mismatch in shape: grad_output[0] has a shape of torch.Size(",
                 shape(grad_output).str(), ") and output[0] has a shape of torch.Size(", output_shape(tape).str(), ").");
    if (frozen_) return;
    const Index d = embedding_dim();
    T* grads = this->params_.gradients();
    const std::int64_t padding = padding_idx() ? static_cast<std::int64_t>(*padding_idx()) : -1;
    for (std::size_t k = 0; k < tape.ids_.size(); ++k) {
      const std::int64_t id = tape.ids_[k];
      if (id == padding) continue;
      const T* row = grad_output.data() + static_cast<Index>(k) * d;
      T* target = grads + static_cast<Index>(id) * d;
      for (Index j = 0; j < d; ++j) target[j] += row[j];
    }
  }

 private:
  struct Uninitialised {};

  /// Checks the options as PyTorch's constructor does (padding_idx first, then the weight's shape) and
  /// lays out the weight without drawing values.
  Embedding(const EmbeddingOptions& options, Uninitialised)
      : Module<T>("Embedding", parameter_table(options)), options_(normalised(options)) {}

  static EmbeddingOptions normalised(EmbeddingOptions options) {
    const Index n = options.num_embeddings();
    if (options.padding_idx()) {
      const Index p = *options.padding_idx();
      // n >= 0 first: -n overflows for INT64_MIN (found by tests/fuzz/fuzz_module_forward.cpp).
      SEQNET_CHECK(value_error, p < 0 ? n >= 0 && p >= -n : p < n, "Padding_idx must be within num_embeddings");
      if (p < 0) options.padding_idx(n + p);
    }
    return options;
  }

  static detail::ParameterTable parameter_table(const EmbeddingOptions& options) {
    const EmbeddingOptions checked = normalised(options);
    const Index n = checked.num_embeddings(), d = checked.embedding_dim();
    // torch.empty((num_embeddings, embedding_dim)) names the first negative extent.
    SEQNET_CHECK(value_error, n >= 0 && d >= 0, "Trying to create tensor with negative dimension ", n < 0 ? n : d,
                 ": [", n, ", ", d, "]");
    SEQNET_CHECK(value_error, static_cast<long double>(n) * static_cast<long double>(d) < 0x1p53L,
                 "sizes too large: the module would need more than 2^53 parameters");
    // As for the recurrent modules: a table that could not fit in memory is refused before allocating,
    // instead of ending in std::bad_alloc (found by tests/fuzz/fuzz_module_forward.cpp).
    SEQNET_CHECK(value_error, static_cast<long double>(n) * static_cast<long double>(d) <= 0x1p36L,
                 "sizes too large: the module would need more than 2^36 parameters");
    detail::ParameterTable table;
    table.add("weight", Shape{n, d});
    return table;
  }

  Shape output_shape(const Tape& tape) const {
    std::vector<Index> dims = tape.ids_shape_.dims();
    dims.push_back(embedding_dim());
    return Shape(dims);
  }

  template <typename I, typename Position>
  void lookup(const I* ids, Index count, T* out, const Position& position) const {
    const Index n = num_embeddings(), d = embedding_dim();
    const T* weight = this->params_.data();
    for (Index k = 0; k < count; ++k) {
      const I id = ids[k];
      if (!detail::id_in_range(id, n))
        throw index_error(detail::concat("index out of range in self: id ", +id, " at position ", position(k),
                                         " is not in [0, ", n, ")"));
      std::copy_n(weight + static_cast<Index>(id) * d, d, out + k * d);
    }
  }

  EmbeddingOptions options_;
  bool frozen_ = false;
};

}  // namespace seqnet
