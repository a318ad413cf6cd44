// SPDX-License-Identifier: MIT
// libFuzzer target: module construction from fuzzed options and sizes, then forward calls on inputs,
// states and sequence lengths of fuzzed shapes and values (NaN and infinities included).
//
// Bad options or a misshapen call must throw an std::invalid_argument-derived error; nothing may crash, and
// nothing may allocate absurdly (run with -malloc_limit_mb, so that an allocation far beyond what the sizes
// legitimately need is a finding). Sizes come mostly from 0..8, sometimes from a list of hostile values
// (negative, 2^31, 2^40, 2^62, INT64_MAX, ...). A module whose own parameter count is legitimately large
// (over 2^20, yet within seqnet's 2^36 cap) is not built: allocating it would be correct, only slow.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "fuzz_common.hpp"

namespace {

using seqnet::Index;
using seqnet::Tensor;
using seqnet_fuzz::ByteReader;

constexpr long double legit_limit = 0x1p20L;  // parameters: above this, only what must throw is built
constexpr long double library_cap = 0x1p36L;  // seqnet refuses modules above this many parameters

Index fuzzed_size(ByteReader& in) {
  static const Index hostile[] = {-1,
                                  -2,
                                  std::numeric_limits<Index>::min(),
                                  std::numeric_limits<Index>::max(),
                                  Index(1) << 16,
                                  (Index(1) << 16) + 1,
                                  Index(1) << 20,
                                  Index(1) << 31,
                                  Index(1) << 32,
                                  Index(1) << 40,
                                  Index(1) << 62,
                                  Index(3037000500),  // its square overflows Index
                                  Index(1) << 26};
  const std::uint8_t b = in.byte();
  if (b < 224) return b % 9;
  if (b < 224 + sizeof hostile / sizeof hostile[0]) return hostile[b - 224];
  return static_cast<Index>(in.u64());
}

/// A fuzzed size minus 4 (so that small ids and paddings go negative), without overflowing at INT64_MIN.
Index shifted_size(ByteReader& in) {
  const Index size = fuzzed_size(in);
  return size < std::numeric_limits<Index>::min() + 4 ? size : size - 4;
}

double fuzzed_value(ByteReader& in) {
  const std::uint8_t b = in.byte();
  switch (b) {
    case 250: return std::numeric_limits<double>::quiet_NaN();
    case 251: return std::numeric_limits<double>::infinity();
    case 252: return -std::numeric_limits<double>::infinity();
    case 253: return 1e4;
    case 254: return -1e30;
    case 255: return std::numeric_limits<double>::denorm_min();
    default: return (static_cast<double>(b) - 125.0) / 25.0;
  }
}

/// A tensor of rank R with dimensions 0..7 and fuzzed values; the harness keeps it small.
template <typename T, int R>
Tensor<T, R> fuzzed_tensor(ByteReader& in, Index forced_last = -1) {
  Eigen::array<Index, R> dims;
  Index numel = 1;
  for (int i = 0; i < R; ++i) {
    dims[static_cast<std::size_t>(i)] = in.byte() % 8;
    numel *= dims[static_cast<std::size_t>(i)];
  }
  // Mostly the right feature size, so that calls get past the first check.
  if (forced_last >= 0 && forced_last < 64 && (in.byte() & 3) != 0) {
    numel = numel / std::max<Index>(dims[R - 1], 1) * forced_last;
    dims[R - 1] = forced_last;
  }
  (void)numel;
  Tensor<T, R> t(dims);
  for (Index i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(fuzzed_value(in));
  return t;
}

std::optional<seqnet::SequenceLengths> fuzzed_lengths(ByteReader& in) {
  if (!in.flag()) return std::nullopt;
  std::vector<Index> lengths(in.byte() % 8);
  for (Index& length : lengths) length = fuzzed_size(in);
  return seqnet::SequenceLengths(std::move(lengths)).enforce_sorted(in.flag());
}

/// The parameter bound seqnet's RecurrentSpec checks (layer 0 may be the widest), computed here too.
long double recurrent_bound(Index gates, Index input, Index hidden, Index layers, bool bidirectional, Index proj) {
  using Real = long double;
  const Real dirs = bidirectional ? 2 : 1, out = proj > 0 ? proj : hidden;
  const Real widest = std::max(static_cast<Real>(input), dirs * out);
  return static_cast<Real>(layers) * dirs * (static_cast<Real>(gates) * hidden * (widest + out + 2) + static_cast<Real>(proj) * hidden);
}

bool sizes_sane(std::initializer_list<Index> sizes) {
  for (Index s : sizes)
    if (s <= 0) return false;
  return true;
}

/// Calls the recurrent module with fuzzed arguments of rank R.
template <typename M, int R>
void call_recurrent(const M& module, ByteReader& in, Index input_size, Index hidden) {
  using T = typename M::Scalar;
  const Tensor<T, R> input = fuzzed_tensor<T, R>(in, input_size);
  const auto lengths = fuzzed_lengths(in);
  const int state = in.byte() % 4;  // 0: none, 1-3: h0 of rank 1-3
  const auto with_state = [&](auto&& h0) {
    if constexpr (std::is_same_v<M, seqnet::LSTM<T>>) {
      const auto c0 = fuzzed_tensor<T, std::decay_t<decltype(h0)>::NumDimensions>(in, hidden);
      if (lengths) (void)module(input, *lengths, h0, c0);
      else (void)module(input, h0, c0);
    } else {
      if (lengths) (void)module(input, *lengths, h0);
      else (void)module(input, h0);
    }
  };
  if (state == 1) return with_state(fuzzed_tensor<T, 1>(in, hidden));
  if (state == 2) return with_state(fuzzed_tensor<T, 2>(in, hidden));
  if (state == 3) return with_state(fuzzed_tensor<T, 3>(in, hidden));
  const auto result = lengths ? module(input, *lengths) : module(input);
  SEQNET_FUZZ_REQUIRE(result.first.dimension(R - 1) == module.spec().directions() * module.spec().output_size());
}

template <typename M, typename Options>
void fuzz_recurrent(ByteReader& in, Options options, Index gates, Index proj, bool bidirectional) {
  const long double bound = recurrent_bound(gates, options.input_size(), options.hidden_size(), options.num_layers(),
                                            bidirectional, proj);
  const bool sane = sizes_sane({options.input_size(), options.hidden_size(), options.num_layers()}) && proj >= 0;
  if (sane && bound > library_cap) {
    // Must be refused before anything is allocated.
    bool refused = false;
    try {
      M module(options);
    } catch (const seqnet::value_error&) {
      refused = true;
    }
    SEQNET_FUZZ_REQUIRE(refused);
    return;
  }
  if (sane && (bound > legit_limit || options.num_layers() > 64)) return;  // legitimately big: skip
  M module(options);  // may throw value_error (zero or negative sizes, proj_size >= hidden_size, ...)
  SEQNET_FUZZ_REQUIRE(sane);
  if (in.flag()) module.prepack();
  if (in.flag()) module.train();
  const Index hidden = module.spec().output_size();
  for (int call = in.byte() % 3 + 1; call > 0; --call) {
    seqnet_fuzz::expect_clean([&] {
      switch (in.byte() % 4) {
        case 0: call_recurrent<M, 1>(module, in, options.input_size(), hidden); break;
        case 1: call_recurrent<M, 2>(module, in, options.input_size(), hidden); break;
        case 2: call_recurrent<M, 3>(module, in, options.input_size(), hidden); break;
        default: call_recurrent<M, 4>(module, in, options.input_size(), hidden); break;
      }
    });
  }
}

template <typename Cell, int R>
void call_cell(const Cell& cell, ByteReader& in, Index input_size, Index hidden) {
  using T = typename Cell::Scalar;
  const Tensor<T, R> input = fuzzed_tensor<T, R>(in, input_size);
  const int state = in.byte() % 3;  // 0: none, 1-2: state of rank 1-2
  const auto with_state = [&](auto&& h0) {
    if constexpr (std::is_same_v<Cell, seqnet::LSTMCell<T>>) {
      const auto c0 = fuzzed_tensor<T, std::decay_t<decltype(h0)>::NumDimensions>(in, hidden);
      (void)cell(input, h0, c0);
    } else {
      (void)cell(input, h0);
    }
  };
  if (state == 1) return with_state(fuzzed_tensor<T, 1>(in, hidden));
  if (state == 2) return with_state(fuzzed_tensor<T, 2>(in, hidden));
  (void)cell(input);
}

template <typename Cell, typename Options>
void fuzz_cell(ByteReader& in, Options options, Index gates) {
  const long double bound = recurrent_bound(gates, options.input_size(), options.hidden_size(), 1, false, 0);
  // PyTorch's cells accept sizes of 0 (the stacked modules refuse them); only negative ones are refused.
  const bool sane = options.input_size() >= 0 && options.hidden_size() >= 0;
  if (sane && bound > library_cap) {
    bool refused = false;
    try {
      Cell cell(options);
    } catch (const seqnet::value_error&) {
      refused = true;
    }
    SEQNET_FUZZ_REQUIRE(refused);
    return;
  }
  if (sane && bound > legit_limit) return;
  Cell cell(options);
  SEQNET_FUZZ_REQUIRE(sane);
  for (int call = in.byte() % 3 + 1; call > 0; --call) {
    seqnet_fuzz::expect_clean([&] {
      switch (in.byte() % 3) {
        case 0: call_cell<Cell, 1>(cell, in, options.input_size(), options.hidden_size()); break;
        case 1: call_cell<Cell, 2>(cell, in, options.input_size(), options.hidden_size()); break;
        default: call_cell<Cell, 3>(cell, in, options.input_size(), options.hidden_size()); break;
      }
    });
  }
}

template <typename T>
void fuzz_linear(ByteReader& in) {
  const Index in_features = fuzzed_size(in), out_features = fuzzed_size(in);
  const bool bias = in.flag();
  const long double count = (static_cast<long double>(in_features) + 1) * static_cast<long double>(out_features);
  const bool sane = in_features >= 0 && out_features >= 0;
  if (sane && count > library_cap) {
    bool refused = false;
    try {
      seqnet::Linear<T> linear(in_features, out_features, bias);
    } catch (const seqnet::value_error&) {
      refused = true;
    }
    SEQNET_FUZZ_REQUIRE(refused);
    return;
  }
  // An empty weight can still give a legitimately huge output (Linear(0, 2^26) maps to 2^26 features).
  if (sane && (count > legit_limit || in_features > 4096 || out_features > 4096)) return;
  seqnet::Linear<T> linear(in_features, out_features, bias);
  SEQNET_FUZZ_REQUIRE(sane);
  for (int call = in.byte() % 3 + 1; call > 0; --call) {
    seqnet_fuzz::expect_clean([&] {
      switch (in.byte() % 3) {
        case 0: (void)linear(fuzzed_tensor<T, 1>(in, in_features)); break;
        case 1: (void)linear(fuzzed_tensor<T, 2>(in, in_features)); break;
        default: (void)linear(fuzzed_tensor<T, 3>(in, in_features)); break;
      }
    });
  }
}

template <typename T>
void fuzz_embedding(ByteReader& in) {
  const Index num = fuzzed_size(in), dim = fuzzed_size(in);
  std::optional<Index> padding;
  if (in.flag()) padding = shifted_size(in);
  const long double count = static_cast<long double>(num) * static_cast<long double>(dim);
  const bool sane = num >= 0 && dim >= 0;
  if (sane && count > library_cap) {
    bool refused = false;
    try {
      seqnet::Embedding<T> embedding(num, dim, padding);
    } catch (const seqnet::value_error&) {
      refused = true;
    }
    SEQNET_FUZZ_REQUIRE(refused);
    return;
  }
  // An empty table can still give a legitimately huge output (Embedding(0, 2^26) rows of 2^26 values).
  if (sane && (count > legit_limit || num > 4096 || dim > 4096)) return;
  seqnet::Embedding<T> embedding(num, dim, padding);
  SEQNET_FUZZ_REQUIRE(sane);
  for (int call = in.byte() % 3 + 1; call > 0; --call) {
    seqnet_fuzz::expect_clean([&] {
      std::vector<std::int64_t> ids(in.byte() % 8);
      for (auto& id : ids) id = shifted_size(in);
      if (in.flag()) {
        (void)embedding(ids);
      } else {
        Tensor<std::int64_t, 2> grid(static_cast<Index>(ids.size()), 1);
        for (Index i = 0; i < grid.size(); ++i) grid.data()[i] = ids[static_cast<std::size_t>(i)];
        (void)embedding(grid);
      }
    });
  }
}

template <typename Options>
Options recurrent_options(ByteReader& in, Index& proj, bool& bidirectional) {
  Options options(fuzzed_size(in), fuzzed_size(in));
  options.num_layers(fuzzed_size(in)).bias(in.flag()).batch_first(in.flag());
  bidirectional = in.flag();
  options.bidirectional(bidirectional);
  const std::uint8_t d = in.byte();
  options.dropout(d == 255 ? std::nan("") : d == 254 ? -0.5 : d == 253 ? 1.5 : d / 252.0);
  proj = 0;
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t kind = in.byte();
  const bool fp64 = (kind & 0x80) != 0;
  seqnet_fuzz::expect_clean([&] {
    Index proj = 0;
    bool bidirectional = false;
    switch (kind % 8) {
      case 0: {
        auto options = recurrent_options<seqnet::RNNOptions>(in, proj, bidirectional);
        options.nonlinearity(in.flag() ? seqnet::Nonlinearity::Relu : seqnet::Nonlinearity::Tanh);
        if (fp64) fuzz_recurrent<seqnet::RNN<double>>(in, options, 1, 0, bidirectional);
        else fuzz_recurrent<seqnet::RNN<float>>(in, options, 1, 0, bidirectional);
        break;
      }
      case 1: {
        auto options = recurrent_options<seqnet::LSTMOptions>(in, proj, bidirectional);
        if (in.flag()) proj = fuzzed_size(in);
        options.proj_size(proj);
        if (fp64) fuzz_recurrent<seqnet::LSTM<double>>(in, options, 4, proj, bidirectional);
        else fuzz_recurrent<seqnet::LSTM<float>>(in, options, 4, proj, bidirectional);
        break;
      }
      case 2: {
        auto options = recurrent_options<seqnet::GRUOptions>(in, proj, bidirectional);
        if (fp64) fuzz_recurrent<seqnet::GRU<double>>(in, options, 3, 0, bidirectional);
        else fuzz_recurrent<seqnet::GRU<float>>(in, options, 3, 0, bidirectional);
        break;
      }
      case 3: {
        seqnet::RNNCellOptions options(fuzzed_size(in), fuzzed_size(in));
        options.bias(in.flag()).nonlinearity(in.flag() ? seqnet::Nonlinearity::Relu : seqnet::Nonlinearity::Tanh);
        if (fp64) fuzz_cell<seqnet::RNNCell<double>>(in, options, 1);
        else fuzz_cell<seqnet::RNNCell<float>>(in, options, 1);
        break;
      }
      case 4: {
        seqnet::LSTMCellOptions options(fuzzed_size(in), fuzzed_size(in));
        options.bias(in.flag());
        if (fp64) fuzz_cell<seqnet::LSTMCell<double>>(in, options, 4);
        else fuzz_cell<seqnet::LSTMCell<float>>(in, options, 4);
        break;
      }
      case 5: {
        seqnet::GRUCellOptions options(fuzzed_size(in), fuzzed_size(in));
        options.bias(in.flag());
        if (fp64) fuzz_cell<seqnet::GRUCell<double>>(in, options, 3);
        else fuzz_cell<seqnet::GRUCell<float>>(in, options, 3);
        break;
      }
      case 6:
        if (fp64) fuzz_linear<double>(in);
        else fuzz_linear<float>(in);
        break;
      default:
        if (fp64) fuzz_embedding<double>(in);
        else fuzz_embedding<float>(in);
        break;
    }
  });
  return 0;
}
