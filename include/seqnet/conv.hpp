// SPDX-License-Identifier: MIT
/// @file conv.hpp
/// `Conv1d<T>`: PyTorch's `torch.nn.Conv1d` (stride, padding as an amount, 'same' or 'valid', the four
/// padding modes, dilation, groups, bias) on `[N, C, L]` or unbatched `[C, L]` inputs, computed as an
/// im2col product on the packed GEMM (the weight is packed once per parameter version).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/gemm/packed.hpp"
#include "errors.hpp"
#include "module.hpp"
#include "options.hpp"
#include "padding.hpp"
#include "random.hpp"
#include "tensor.hpp"

namespace seqnet {

/// Conv1d's `padding`: an amount added on both sides, or `"same"` / `"valid"`.
/// `Conv1dOptions(4, 8, 3).padding(1)`, `.padding("same")`.
class ConvPadding {
 public:
  /// `amount` zeros (or mode-padded elements) on each side. Negative amounts are rejected at construction
  /// of the module (`negative padding is not supported`).
  ConvPadding(Index amount = 0) : amount_(amount) {}  // NOLINT(google-explicit-constructor): as PyTorch's int
  /// `"same"` or `"valid"`; another string throws `value_error` with PyTorch's text,
  /// `Invalid padding string 'full', should be one of {'valid', 'same'}`.
  template <std::size_t N>
  ConvPadding(const char (&name)[N]) : ConvPadding(std::string(name)) {}  // NOLINT(google-explicit-constructor)
  explicit ConvPadding(const std::string& name) {
    SEQNET_CHECK(value_error, name == "same" || name == "valid", "Invalid padding string '", name,
                 "', should be one of {'valid', 'same'}");
    kind_ = name == "same" ? Kind::same : Kind::valid;
  }
  bool is_same() const noexcept { return kind_ == Kind::same; }
  bool is_valid() const noexcept { return kind_ == Kind::valid; }
  /// The amount on each side (0 for 'valid'; not meaningful for 'same', which depends on the kernel).
  Index amount() const noexcept { return amount_; }

 private:
  enum class Kind { amount, same, valid };
  Kind kind_ = Kind::amount;
  Index amount_ = 0;
};

/// Conv1d's `padding_mode`.
enum class PaddingMode { zeros, reflect, replicate, circular };

/// The name PyTorch prints for a padding mode (`"reflect"`).
inline const char* padding_mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::zeros: return "zeros";
    case PaddingMode::reflect: return "reflect";
    case PaddingMode::replicate: return "replicate";
    case PaddingMode::circular: return "circular";
  }
  return "?";
}

/// PyTorch's padding_mode string; another throws `value_error`: `padding_mode must be one of {'zeros',
/// 'reflect', 'replicate', 'circular'}, but got padding_mode='foo'` (Python prints the set in an order that
/// varies from run to run; seqnet prints it in this order).
inline PaddingMode padding_mode(const std::string& name) {
  for (PaddingMode m : {PaddingMode::zeros, PaddingMode::reflect, PaddingMode::replicate, PaddingMode::circular})
    if (name == padding_mode_name(m)) return m;
  detail::fail<value_error>("padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got "
                            "padding_mode='", name, "'");
}

/// Options of `Conv1d<T>`, mirroring `torch::nn::Conv1dOptions`.
/// Example: `Conv1d<float> conv(Conv1dOptions(4, 8, 3).stride(2).padding(1).padding_mode(PaddingMode::reflect));`
struct Conv1dOptions {
  Conv1dOptions(Index in_channels, Index out_channels, Index kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  /// Channels of the input (`C_in`).
  SEQNET_ARG(Index, in_channels);
  /// Channels of the output (`C_out`).
  SEQNET_ARG(Index, out_channels);
  /// Width of the kernel.
  SEQNET_ARG(Index, kernel_size);
  /// Step between output positions. Default: 1
  SEQNET_ARG(Index, stride) = 1;
  /// An amount on both sides, `"same"` (stride 1 only) or `"valid"`. Default: 0
  SEQNET_ARG(ConvPadding, padding) = 0;
  /// Spacing between kernel taps. Default: 1
  SEQNET_ARG(Index, dilation) = 1;
  /// Channel groups: input and output channels are split into `groups` independent convolutions. Default: 1
  SEQNET_ARG(Index, groups) = 1;
  /// Whether the layer has the additive `bias` parameter. Default: true
  SEQNET_ARG(bool, bias) = true;
  /// How the padded elements are filled. Default: zeros
  SEQNET_ARG(PaddingMode, padding_mode) = PaddingMode::zeros;
};

namespace detail {

/// What a Conv1d call reuses: the weight packed per group (tagged with the parameter version it was packed
/// from), the im2col rows, the product and the GEMM workspace. Forward is const and may run on several
/// threads: a call that finds the cache busy uses a temporary one. Copies start empty.
template <typename T>
struct ConvScratch {
  std::vector<PackedWeight<T>> packed;
  std::uint64_t packed_version = 0;
  bool has_packed = false;
  std::vector<T> columns;
  std::vector<T> product;
  std::vector<T> workspace;
  std::vector<Index> source;
};

template <typename T>
class ConvScratchCache {
 public:
  ConvScratchCache() = default;
  ConvScratchCache(const ConvScratchCache&) {}
  ConvScratchCache(ConvScratchCache&&) noexcept {}
  ConvScratchCache& operator=(const ConvScratchCache&) { return *this; }
  ConvScratchCache& operator=(ConvScratchCache&&) noexcept { return *this; }

  template <typename F>
  void with(F&& f) const {
    if (!busy_.exchange(true, std::memory_order_acquire)) {
      struct Release {
        std::atomic<bool>& flag;
        ~Release() { flag.store(false, std::memory_order_release); }
      } release{busy_};
      f(scratch_);
      return;
    }
    ConvScratch<T> temporary;
    f(temporary);
  }

 private:
  mutable std::atomic<bool> busy_{false};
  mutable ConvScratch<T> scratch_;
};

template <typename T>
void grow(std::vector<T>& buffer, Index size) {
  if (static_cast<Index>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
}

}  // namespace detail

/// 1-D convolution, `torch.nn.Conv1d`: `out[n, o, t] = bias[o] + sum_{c, j} weight[o, c, j] *
/// in_padded[n, g * C_in/groups + c, t * stride + j * dilation]` for the group `g` of output channel `o`.
/// Input `[N, C_in, L]` or unbatched `[C_in, L]` (a rank other than 2 or 3 does not compile); output
/// `[N, C_out, L_out]` or `[C_out, L_out]` with `L_out = (L + left + right - dilation * (kernel_size - 1) - 1)
/// / stride + 1`. Parameters `weight` `[C_out, C_in / groups, kernel_size]` and, unless bias=false, `bias`
/// `[C_out]`, initialised from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in / groups * kernel_size, as
/// PyTorch does (with seqnet's generator). fp32 and fp64.
template <typename T>
class Conv1d : public Module<T> {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Conv1d<float> or Conv1d<double>");

 public:
  explicit Conv1d(const Conv1dOptions& options, Generator& generator = default_generator())
      : Module<T>("Conv1d", parameter_table(options)), options_(options) {
    reset_parameters(generator);
  }
  Conv1d(Index in_channels, Index out_channels, Index kernel_size, Generator& generator = default_generator())
      : Conv1d(Conv1dOptions(in_channels, out_channels, kernel_size), generator) {}

  const Conv1dOptions& options() const noexcept { return options_; }
  Index in_channels() const noexcept { return options_.in_channels(); }
  Index out_channels() const noexcept { return options_.out_channels(); }
  Index kernel_size() const noexcept { return options_.kernel_size(); }
  bool has_bias() const noexcept { return options_.bias(); }

  /// `[C_out, C_in / groups, kernel_size]`.
  Parameter<T> weight() { return this->parameter("weight"); }
  Parameter<const T> weight() const { return this->parameter("weight"); }
  /// `[C_out]`; throws `key_error` for a layer built with bias=false.
  Parameter<T> bias() {
    SEQNET_CHECK(key_error, has_bias(), "'Conv1d' was built with bias=False and has no bias");
    return this->parameter("bias");
  }
  Parameter<const T> bias() const {
    SEQNET_CHECK(key_error, has_bias(), "'Conv1d' was built with bias=False and has no bias");
    return this->parameter("bias");
  }

  /// The padding added in front of and behind the input: the amount on both sides, or for 'same'
  /// `dilation * (kernel_size - 1)` split with the smaller half in front, as PyTorch does.
  std::pair<Index, Index> padding_amounts() const noexcept {
    const ConvPadding& p = options_.padding();
    if (p.is_valid()) return {0, 0};
    if (p.is_same()) {
      const Index total = options_.dilation() * (kernel_size() - 1);
      return {total / 2, total - total / 2};
    }
    return {p.amount(), p.amount()};
  }

  /// PyTorch's `reset_parameters`: `kaiming_uniform_(weight, a=sqrt(5))`, i.e. U(-1/sqrt(fan_in),
  /// 1/sqrt(fan_in)), then the bias from the same range (0 when fan_in is 0).
  void reset_parameters(Generator& generator = default_generator()) {
    const Index fan_in = in_channels() / options_.groups() * kernel_size();
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    T* values = this->params_.data();
    for (Index i = 0; i < this->params_.size(); ++i) values[i] = static_cast<T>(generator.uniform(-bound, bound));
  }

  /// `Conv1d(4, 8, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, bias=False,
  /// padding_mode=reflect)`, each option after the stride only when it differs from its default.
  std::string repr() const override {
    std::string s = detail::concat("Conv1d(", in_channels(), ", ", out_channels(), ", kernel_size=(", kernel_size(),
                                   ",), stride=(", options_.stride(), ",)");
    const ConvPadding& p = options_.padding();
    if (p.is_same()) s += ", padding=same";
    if (p.is_valid()) s += ", padding=valid";
    if (!p.is_same() && !p.is_valid() && p.amount() != 0) s += detail::concat(", padding=(", p.amount(), ",)");
    if (options_.dilation() != 1) s += detail::concat(", dilation=(", options_.dilation(), ",)");
    if (options_.groups() != 1) s += detail::concat(", groups=", options_.groups());
    if (!has_bias()) s += ", bias=False";
    if (options_.padding_mode() != PaddingMode::zeros)
      s += std::string(", padding_mode=") + padding_mode_name(options_.padding_mode());
    return s + ")";
  }

  /// `[N, C_in, L]` -> `[N, C_out, L_out]`, or `[C_in, L]` -> `[C_out, L_out]`.
  template <int R>
  Tensor<T, R> forward(const Tensor<T, R>& input) const {
    Tensor<T, R> out;
    forward_into(input, out);
    return out;
  }
  template <int R, detail::if_unbatched_or_batched_1d<R> = 0>
  Tensor<T, R> operator()(const Tensor<T, R>& input) const {
    return forward(input);
  }

  /// As `forward`, writing into the caller's `out` (resized only if its shape differs; it must not be
  /// `input`). Once `out` and the module's scratch have their sizes, a call allocates nothing.
  /// Errors, in PyTorch's order and words (`shape_error` / `value_error`):
  /// `Given groups=1, weight of size [8, 4, 3], expected input[2, 5, 10] to have 4 channels, but got 5
  /// channels instead` (an unbatched input is printed with its batch of 1, as PyTorch does);
  /// `Calculated padded input size per channel: (3). Kernel size: (5). Kernel size can't be greater than
  /// actual input size`; the padding errors of `pad` for the reflect, replicate and circular modes.
  template <int R>
  void forward_into(const Tensor<T, R>& input, Tensor<T, R>& out) const {
    static_assert(R == 2 || R == 3, "Expected 2D (unbatched) or 3D (batched) input to conv1d");
    const Index batch = R == 3 ? input.dimension(0) : 1;
    const Index channels = input.dimension(R - 2), length = input.dimension(R - 1);
    const Index groups = options_.groups(), c_out = out_channels(), k = kernel_size();
    const Index group_in = in_channels() / groups;
    SEQNET_CHECK(shape_error, c_out >= 1, "Given groups=", groups,
                 ", expected weight to be at least 1 at dimension 0, but got weight of size ", weight_shape().str(),
                 " instead");
    // Plain names, not a structured binding: the lambda below captures them (a C++20 feature for bindings).
    const std::pair<Index, Index> amounts = padding_amounts();
    const Index left = amounts.first, right = amounts.second;
    const PadMode mode = pad_mode_of(options_.padding_mode());
    // A padding mode other than zeros pads the input before the convolution checks it, as in PyTorch.
    if (mode != PadMode::constant) detail::check_pad(shape(input), mode, left, right, false);
    SEQNET_CHECK(shape_error, channels == in_channels(), "Given groups=", groups, ", weight of size ",
                 weight_shape().str(), ", expected input", Shape{batch, channels, length}.str(), " to have ",
                 in_channels(), " channels, but got ", channels, " channels instead");
    const Index padded = length + left + right;
    const Index span = options_.dilation() * (k - 1) + 1;
    SEQNET_CHECK(shape_error, padded >= span, "Calculated padded input size per channel: (", padded,
                 "). Kernel size: (", span, "). Kernel size can't be greater than actual input size");
    const Index stride = options_.stride(), dilation = options_.dilation();
    const Index l_out = (padded - span) / stride + 1;

    if constexpr (R == 3) {
      detail::resize_to(out, Shape{batch, c_out, l_out});
    } else {
      detail::resize_to(out, Shape{c_out, l_out});
    }
    if (out.size() == 0) return;

    const Index depth = group_in * k, group_out = c_out / groups;
    const T* bias_values = has_bias() ? this->params_.data() + weight_shape().numel() : nullptr;
    cache_.with([&](detail::ConvScratch<T>& s) {
      prepare_weights(s);
      detail::grow(s.source, padded);
      for (Index p = 0; p < padded; ++p) s.source[static_cast<std::size_t>(p)] = detail::padded_source(mode, p, length, left, right);
      detail::grow(s.columns, l_out * depth);
      detail::grow(s.product, l_out * c_out);
      detail::grow(s.workspace, detail::packed_linear_workspace_size<T>(l_out, depth));
      const Index* source = s.source.data();
      for (Index n = 0; n < batch; ++n) {
        const T* x = input.data() + n * channels * length;
        for (Index g = 0; g < groups; ++g) {
          // im2col: row t holds the taps of output position t, channel-major as the weight's rows are.
          T* col = s.columns.data();
          for (Index t = 0; t < l_out; ++t) {
            const Index* src = source + t * stride;
            for (Index c = 0; c < group_in; ++c) {
              const T* xc = x + (g * group_in + c) * length;
              for (Index j = 0; j < k; ++j) {
                const Index i = src[j * dilation];
                *col++ = i >= 0 ? xc[i] : T(0);
              }
            }
          }
          detail::packed_linear<T>(detail::ConstRowsView<T>{s.columns.data(), l_out, depth, depth},
                                   s.packed[static_cast<std::size_t>(g)],
                                   bias_values ? bias_values + g * group_out : nullptr,
                                   detail::RowsView<T>{s.product.data() + g * group_out, l_out, group_out, c_out},
                                   s.workspace.data(), static_cast<Index>(s.workspace.size()));
        }
        // [L_out, C_out] -> [C_out, L_out]
        T* y = out.data() + n * c_out * l_out;
        const T* prod = s.product.data();
        for (Index o = 0; o < c_out; ++o)
          for (Index t = 0; t < l_out; ++t) y[o * l_out + t] = prod[t * c_out + o];
      }
    });
  }

 private:
  static PadMode pad_mode_of(PaddingMode mode) {
    switch (mode) {
      case PaddingMode::zeros: return PadMode::constant;
      case PaddingMode::reflect: return PadMode::reflect;
      case PaddingMode::replicate: return PadMode::replicate;
      case PaddingMode::circular: return PadMode::circular;
    }
    return PadMode::constant;
  }

  Shape weight_shape() const { return Shape{out_channels(), in_channels() / options_.groups(), kernel_size()}; }

  /// Packs each group's weight rows `[C_out / groups, C_in / groups * kernel_size]` unless the packed copies
  /// were made from the current parameters.
  void prepare_weights(detail::ConvScratch<T>& s) const {
    const std::uint64_t version = this->parameter_version();
    if (s.has_packed && s.packed_version == version) return;
    const Index groups = options_.groups(), group_out = out_channels() / groups;
    const Index depth = in_channels() / groups * kernel_size();
    s.packed.resize(static_cast<std::size_t>(groups));
    const T* w = this->params_.data();
    for (Index g = 0; g < groups; ++g) s.packed[static_cast<std::size_t>(g)].pack(w + g * group_out * depth, group_out, depth, depth);
    s.packed_version = version;
    s.has_packed = true;
  }

  static detail::ParameterTable parameter_table(const Conv1dOptions& o) {
    SEQNET_CHECK(value_error, o.groups() > 0, "groups must be a positive integer");
    SEQNET_CHECK(value_error, o.in_channels() % o.groups() == 0, "in_channels must be divisible by groups");
    SEQNET_CHECK(value_error, o.out_channels() % o.groups() == 0, "out_channels must be divisible by groups");
    SEQNET_CHECK(value_error, !o.padding().is_same() || o.stride() == 1,
                 "padding='same' is not supported for strided convolutions");
    const Index out = o.out_channels(), in = o.in_channels() / o.groups(), k = o.kernel_size();
    SEQNET_CHECK(value_error, out >= 0 && in >= 0 && k >= 0, "Trying to create tensor with negative dimension ",
                 out < 0 ? out : (in < 0 ? in : k), ": [", out, ", ", in, ", ", k, "]");
    // PyTorch checks these at the first forward call; they can never succeed, so seqnet rejects them here.
    SEQNET_CHECK(value_error, k > 0, "kernel size should be greater than zero, but got kernel_height: 1 kernel_width: ", k);
    SEQNET_CHECK(value_error, o.stride() > 0, "non-positive stride is not supported");
    SEQNET_CHECK(value_error, o.dilation() > 0, "non-positive dilation is not supported");
    SEQNET_CHECK(value_error, o.padding().amount() >= 0, "negative padding is not supported");
    detail::ParameterTable table;
    table.add("weight", Shape{out, in, k});
    if (o.bias()) table.add("bias", Shape{out});
    return table;
  }

  Conv1dOptions options_;
  detail::ConvScratchCache<T> cache_;
};

}  // namespace seqnet
