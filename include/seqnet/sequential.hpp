// SPDX-License-Identifier: MIT
/// @file sequential.hpp
/// PyTorch's `nn.Sequential`: modules run one after the other, registered as the children "0", "1", ...,
/// so that a model's state dict names their tensors `decoder.2.weight` as PyTorch does.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "errors.hpp"
#include "module.hpp"
#include "tensor.hpp"

namespace seqnet {

template <typename T>
class Sequential;

namespace detail {

/// The ranks a `Sequential` passes between its modules.
inline constexpr int max_sequential_rank = 4;

/// A tensor of any rank from 1 to `max_sequential_rank`: what flows between a Sequential's modules,
/// whose ranks may change on the way (`Flatten`).
template <typename T>
using AnyRankTensor = std::variant<Tensor<T, 1>, Tensor<T, 2>, Tensor<T, 3>, Tensor<T, 4>>;

template <typename X, typename T>
struct is_tensor_of : std::false_type {};
template <typename T, int R>
struct is_tensor_of<Tensor<T, R>, T> : std::bool_constant<(R >= 1 && R <= max_sequential_rank)> {};

template <typename M, typename T, int R, typename = void>
struct callable_with_rank : std::false_type {};
template <typename M, typename T, int R>
struct callable_with_rank<M, T, R, std::void_t<decltype(std::declval<M&>()(std::declval<const Tensor<T, R>&>()))>>
    : is_tensor_of<std::decay_t<decltype(std::declval<M&>()(std::declval<const Tensor<T, R>&>()))>, T> {};

/// The parameter of a module's only `operator()` (not a template, not overloaded), or void.
template <typename F>
struct sole_argument {
  using type = void;
};
template <typename C, typename Ret, typename A>
struct sole_argument<Ret (C::*)(A)> {
  using type = std::decay_t<A>;
};
template <typename C, typename Ret, typename A>
struct sole_argument<Ret (C::*)(A) const> {
  using type = std::decay_t<A>;
};
template <typename C, typename Ret, typename A>
struct sole_argument<Ret (C::*)(A) noexcept> {
  using type = std::decay_t<A>;
};
template <typename C, typename Ret, typename A>
struct sole_argument<Ret (C::*)(A) const noexcept> {
  using type = std::decay_t<A>;
};

template <typename M, typename T, int R, typename = void>
struct takes_exactly_rank : std::true_type {};  // a template or an overload set: deduction or overload resolution picks the rank
template <typename M, typename T, int R>
struct takes_exactly_rank<M, T, R, std::void_t<decltype(&M::operator())>>
    : std::is_same<typename sole_argument<decltype(&M::operator())>::type, Tensor<T, R>> {};

/// Whether `M` (or `const M`) called on a `const Tensor<T, R>&` returns a tensor of a rank Sequential
/// passes. An Eigen tensor converts implicitly from one of any other rank, so a module whose only call
/// takes `const Tensor<T, 3>&` counts for rank 3 alone.
template <typename M, typename T, int R>
struct maps_tensor
    : std::bool_constant<callable_with_rank<M, T, R>::value && takes_exactly_rank<std::remove_const_t<M>, T, R>::value> {};

/// How a Sequential handles one module type, found once per type: copy it, and run it on each input rank
/// (null where the type has no such call).
template <typename T>
struct SequentialCalls {
  using Run = AnyRankTensor<T> (*)(Module<T>&, const void* input);
  using RunConst = AnyRankTensor<T> (*)(const Module<T>&, const void* input);
  std::unique_ptr<Module<T>> (*clone)(const Module<T>&);
  Run run[max_sequential_rank];
  RunConst run_const[max_sequential_rank];
};

template <typename T, typename L, int R>
AnyRankTensor<T> run_as(Module<T>& module, const void* input) {
  if constexpr (std::is_base_of_v<Sequential<T>, L>) {
    return static_cast<L&>(module).template forward_any<R>(*static_cast<const Tensor<T, R>*>(input));
  } else {
    return AnyRankTensor<T>(static_cast<L&>(module)(*static_cast<const Tensor<T, R>*>(input)));
  }
}
template <typename T, typename L, int R>
AnyRankTensor<T> run_const_as(const Module<T>& module, const void* input) {
  if constexpr (std::is_base_of_v<Sequential<T>, L>) {
    return static_cast<const L&>(module).template forward_any<R>(*static_cast<const Tensor<T, R>*>(input));
  } else {
    return AnyRankTensor<T>(static_cast<const L&>(module)(*static_cast<const Tensor<T, R>*>(input)));
  }
}

template <typename T, typename L, int R>
constexpr typename SequentialCalls<T>::Run run_for() {
  if constexpr (std::is_base_of_v<Sequential<T>, L> || maps_tensor<L, T, R>::value) {
    return &run_as<T, L, R>;
  } else {
    return nullptr;
  }
}
template <typename T, typename L, int R>
constexpr typename SequentialCalls<T>::RunConst run_const_for() {
  if constexpr (std::is_base_of_v<Sequential<T>, L> || maps_tensor<const L, T, R>::value) {
    return &run_const_as<T, L, R>;
  } else {
    return nullptr;
  }
}

template <typename T, typename L>
const SequentialCalls<T>* sequential_calls() {
  static const SequentialCalls<T> calls{
      [](const Module<T>& module) -> std::unique_ptr<Module<T>> {
        return std::make_unique<L>(static_cast<const L&>(module));
      },
      {run_for<T, L, 1>(), run_for<T, L, 2>(), run_for<T, L, 3>(), run_for<T, L, 4>()},
      {run_const_for<T, L, 1>(), run_const_for<T, L, 2>(), run_const_for<T, L, 3>(), run_const_for<T, L, 4>()}};
  return &calls;
}

}  // namespace detail

/// PyTorch's `nn.Sequential`: `Sequential<float> decoder(Dropout<float>(0.1), ReLU<float>(), Linear<float>(128, 1));`.
/// It owns copies of its modules, registered as the children "0", "1", ... (so `decoder.2.weight`), and
/// its repr is PyTorch's. Calling it runs each module on the previous one's result. Any seqnet module
/// (including your own, and a nested `Sequential`) can be appended; one that maps a tensor to a tensor
/// (`Tensor<T, R> operator()(const Tensor<T, R>&)`, any rank 1 to 4, possibly changing the rank) can be
/// run; one that cannot (an LSTM, whose call returns a pair) may still sit in a Sequential to be loaded,
/// as in PyTorch, and throws `value_error` if the Sequential is called.
///
/// Each module's result is a new tensor, so a call allocates one per module; the real-time path is the
/// modules' own `forward_into`.
template <typename T>
class Sequential : public Module<T> {
 public:
  Sequential() : Module<T>("Sequential") {}

  /// `nn.Sequential(a, b, c)`: copies (or moves) the modules in, in order.
  /// (A single `Sequential` argument is a copy, not a nesting: nest one with `append`.)
  template <typename First, typename... Rest,
            typename = std::enable_if_t<std::is_base_of_v<Module<T>, std::decay_t<First>> &&
                                        (sizeof...(Rest) > 0 || !std::is_same_v<std::decay_t<First>, Sequential>)>>
  explicit Sequential(First&& first, Rest&&... rest) : Sequential() {
    append(std::forward<First>(first));
    (append(std::forward<Rest>(rest)), ...);
  }

  Sequential(const Sequential& other) : Module<T>(other) {
    for (const auto& item : other.items_) items_.push_back({item.calls->clone(*item.module), item.calls});
  }
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(const Sequential& other) {
    if (this != &other) *this = Sequential(other);
    return *this;
  }
  Sequential& operator=(Sequential&&) noexcept = default;

  /// PyTorch's `append`: adds a copy of (or moves) `module` as child `str(len(self))` and returns it.
  template <typename L>
  std::decay_t<L>& append(L&& module) {
    using Layer = std::decay_t<L>;
    static_assert(std::is_base_of_v<Module<T>, Layer>, "Sequential holds seqnet modules of its scalar type");
    const std::size_t index = items_.size();
    items_.push_back({std::make_unique<Layer>(std::forward<L>(module)), detail::sequential_calls<T, Layer>()});
    try {
      this->register_child(std::to_string(index),
                           [index](Module<T>& self) -> Module<T>& { return *static_cast<Sequential&>(self).items_[index].module; });
    } catch (...) {
      items_.pop_back();
      throw;
    }
    return static_cast<Layer&>(*items_.back().module);
  }

  /// `len(seq)`.
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }

  /// `seq[i]`; throws `index_error` (PyTorch's words) when out of range.
  Module<T>& operator[](std::size_t i) { return *items_[checked(i)].module; }
  const Module<T>& operator[](std::size_t i) const { return *items_[checked(i)].module; }
  /// `seq[i]` as its concrete type; throws `value_error` if it is another type.
  template <typename L>
  L& get(std::size_t i) {
    return const_cast<L&>(std::as_const(*this).template get<L>(i));
  }
  template <typename L>
  const L& get(std::size_t i) const {
    const auto* typed = dynamic_cast<const L*>(items_[checked(i)].module.get());
    SEQNET_CHECK(value_error, typed != nullptr, "Sequential: module ", i, " is a ", items_[i].module->type_name(),
                 ", not the type asked for");
    return *typed;
  }

  /// Runs the modules in order on `input` and returns the last result, which must have `input`'s rank
  /// (use `forward<Out>` when the modules change the rank). An empty Sequential returns `input`.
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& input) {
    return forward<R>(input);
  }
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& input) const {
    return forward<R>(input);
  }

  /// As `operator()`, for a chain whose result has rank `Out` (`seq.forward<2>(x3)` through a Flatten).
  template <int Out, int R>
  Tensor<T, Out> forward(const Tensor<T, R>& input) {
    return take<Out>(forward_any(input));
  }
  template <int Out, int R>
  Tensor<T, Out> forward(const Tensor<T, R>& input) const {
    return take<Out>(forward_any(input));
  }

  /// The result at whatever rank the modules produce.
  template <int R>
  detail::AnyRankTensor<T> forward_any(const Tensor<T, R>& input) {
    return chain(*this, input);
  }
  template <int R>
  detail::AnyRankTensor<T> forward_any(const Tensor<T, R>& input) const {
    return chain(*this, input);
  }

 private:
  struct Item {
    std::unique_ptr<Module<T>> module;
    const detail::SequentialCalls<T>* calls;
  };

  std::size_t checked(std::size_t i) const {
    SEQNET_CHECK(index_error, i < items_.size(), "index ", i, " is out of range");
    return i;
  }

  template <typename Self, int R>
  static detail::AnyRankTensor<T> chain(Self& self, const Tensor<T, R>& input) {
    static_assert(R >= 1 && R <= detail::max_sequential_rank, "Sequential passes tensors of rank 1 to 4");
    if (self.items_.empty()) return detail::AnyRankTensor<T>(input);
    detail::AnyRankTensor<T> current;
    const void* data = &input;
    int rank = R;
    for (std::size_t i = 0; i < self.items_.size(); ++i) {
      const Item& item = self.items_[i];
      const auto slot = static_cast<std::size_t>(rank - 1);
      if constexpr (std::is_const_v<Self>) {
        const auto run = item.calls->run_const[slot];
        SEQNET_CHECK(value_error, run != nullptr, "Sequential: module ", i, " (", item.module->type_name(),
                     ") has no const call taking a rank-", rank, " tensor and returning a tensor");
        current = run(*item.module, data);
      } else {
        const auto run = item.calls->run[slot];
        SEQNET_CHECK(value_error, run != nullptr, "Sequential: module ", i, " (", item.module->type_name(),
                     ") has no call taking a rank-", rank, " tensor and returning a tensor");
        current = run(*item.module, data);
      }
      rank = static_cast<int>(current.index()) + 1;
      data = std::visit([](const auto& tensor) { return static_cast<const void*>(&tensor); }, current);
    }
    return current;
  }

  template <int Out>
  static Tensor<T, Out> take(detail::AnyRankTensor<T>&& result) {
    static_assert(Out >= 1 && Out <= detail::max_sequential_rank, "Sequential passes tensors of rank 1 to 4");
    SEQNET_CHECK(shape_error, result.index() == static_cast<std::size_t>(Out - 1), "Sequential: the last module returned a rank-",
                 result.index() + 1, " tensor, not rank ", Out, " (call forward<", result.index() + 1, ">(input))");
    return std::move(std::get<static_cast<std::size_t>(Out - 1)>(result));
  }

  std::vector<Item> items_;
};

}  // namespace seqnet
