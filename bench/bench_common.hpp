// Shared by seqnet's benchmark programs: the shape grid of the CPU-speed issue, flop counts, seeded
// modules and inputs (so every implementation times the same weights on the same data), and the
// agreement check a peer must pass before it is timed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <seqnet/seqnet.hpp>

namespace bench {

using seqnet::Index;

/// The recurrences the bench times; the value is PyTorch's gate count (rows of W_ih are G * hidden).
enum class Model { RNN = 1, GRU = 3, LSTM = 4 };

inline const char* model_name(Model model) {
  switch (model) {
    case Model::RNN: return "RNN";
    case Model::GRU: return "GRU";
    case Model::LSTM: return "LSTM";
  }
  return "?";
}

inline Index gate_count(Model model) { return static_cast<Index>(model); }

template <typename T>
constexpr const char* dtype_name() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

/// One module shape: (seq, batch, input, hidden, layers, directions) plus the LSTM projection and
/// the batch_first layout. `cell` marks a single LSTMCell/RNNCell step (seq 1, layers 1, directions 1).
struct Case {
  Index seq = 1, batch = 1, input = 1, hidden = 1, layers = 1, directions = 1;
  Index proj_size = 0;
  bool batch_first = false;
  bool cell = false;

  Index output_size() const { return proj_size > 0 ? proj_size : hidden; }
  Index layer_input(Index layer) const { return layer == 0 ? input : directions * output_size(); }

  /// Stable name used in benchmark names, dump files and the report: `s50_b16_i256_h256_l1_d1`
  /// (`_p128` with a projection, `_bf` batch-first); a cell step is `b16_i256_h256`.
  std::string label() const {
    auto field = [](const char* key, Index value) { return std::string(key) + std::to_string(value); };
    if (cell) return field("b", batch) + field("_i", input) + field("_h", hidden);
    std::string s = field("s", seq) + field("_b", batch) + field("_i", input) + field("_h", hidden) +
                    field("_l", layers) + field("_d", directions);
    if (proj_size > 0) s += field("_p", proj_size);
    if (batch_first) s += "_bf";
    return s;
  }

  /// Multiply-adds times two of one forward pass: 2*seq*batch*G*H*(in+H_out) per layer and direction,
  /// plus 2*seq*batch*H*P for the projection. Elementwise gate math is not counted.
  double flops(Model model) const {
    const double G = static_cast<double>(gate_count(model)), H = static_cast<double>(hidden);
    const double rows = static_cast<double>(seq) * static_cast<double>(batch);
    double total = 0.0;
    for (Index layer = 0; layer < layers; ++layer) {
      double per_direction = 2.0 * rows * G * H * static_cast<double>(layer_input(layer) + output_size());
      if (proj_size > 0) per_direction += 2.0 * rows * H * static_cast<double>(proj_size);
      total += per_direction * static_cast<double>(directions);
    }
    return total;
  }
};

/// The grid of the issue: the tutorial's example, latency, throughput, stacked bidirectional, large,
/// plus a projection case (LSTM only) and a batch_first case.
inline std::vector<Case> module_grid() {
  auto make = [](Index seq, Index batch, Index input, Index hidden, Index layers, Index directions) {
    Case c;
    c.seq = seq, c.batch = batch, c.input = input, c.hidden = hidden, c.layers = layers, c.directions = directions;
    return c;
  };
  std::vector<Case> grid = {
      make(10, 3, 100, 20, 1, 1),      // the tutorial's example
      make(50, 1, 128, 128, 1, 1),     // latency
      make(50, 4, 256, 256, 1, 1),     // latency
      make(50, 16, 256, 256, 1, 1),    // throughput
      make(100, 64, 512, 512, 1, 1),   // throughput
      make(50, 32, 256, 256, 2, 2),    // stacked bidirectional
      make(25, 128, 1024, 1024, 1, 1)  // large
  };
  Case projected = make(50, 16, 256, 256, 1, 1);
  projected.proj_size = 128;
  grid.push_back(projected);
  Case batch_first = make(50, 16, 256, 256, 1, 1);
  batch_first.batch_first = true;
  grid.push_back(batch_first);
  return grid;
}

/// One cell step for every distinct (batch, input, hidden) of the module grid.
inline std::vector<Case> cell_grid() {
  std::vector<Case> cells;
  for (const Case& m : module_grid()) {
    Case c;
    c.cell = true, c.batch = m.batch, c.input = m.input, c.hidden = m.hidden;
    const bool seen = std::any_of(cells.begin(), cells.end(), [&](const Case& o) { return o.label() == c.label(); });
    if (!seen) cells.push_back(c);
  }
  return cells;
}

/// Whether a model/case pair is part of the grid (projection exists for LSTM only).
inline bool applies(Model model, const Case& c) { return c.proj_size == 0 || model == Model::LSTM; }

/// Worker threads requested for this run: `--seqnet_threads=N` or SEQNET_BENCH_THREADS, default 1.
inline int& requested_threads() {
  static int threads = [] {
    const char* env = std::getenv("SEQNET_BENCH_THREADS");
    const int n = env != nullptr ? std::atoi(env) : 1;
    return n > 0 ? n : 1;
  }();
  return threads;
}

/// Whether seqnet's modules and cells are timed prepacked (the default: steady-state inference) or, with
/// SEQNET_BENCH_PREPACK=0, packing their weights on every call.
inline bool bench_prepack() {
  static const bool prepack = [] {
    const char* env = std::getenv("SEQNET_BENCH_PREPACK");
    return env == nullptr || std::string(env) != "0";
  }();
  return prepack;
}

/// Every implementation gets the same numbers: weights drawn by seqnet's PyTorch-style initialisation
/// and inputs/initial states from N(0, 1), all from one fixed seed per (model, case).
inline std::uint64_t seed_for(Model model, const Case& c) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the name: stable across runs and platforms
  for (char ch : std::string(model_name(model)) + "/" + c.label()) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return h;
}

template <typename T>
std::vector<T> normal_values(seqnet::Generator& generator, Index count) {
  std::vector<T> values(static_cast<std::size_t>(count));
  for (T& v : values) v = static_cast<T>(generator.normal());
  return values;
}

/// What seqnet computed for a case; a peer must reproduce it to be timed.
template <typename T>
struct Outputs {
  std::vector<T> output, h_n, c_n;  // c_n empty unless LSTM
};

/// Largest |a - b| over matching arrays; infinity when sizes differ (a wrong shape never agrees).
template <typename T, typename U>
double max_abs_diff(const std::vector<T>& a, const U* b, std::size_t count) {
  if (a.size() != count) return INFINITY;
  double worst = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= worst)) worst = d;  // also propagates NaN as "worst"
  }
  return worst;
}

/// Agreement tolerance for a peer: the 1e-4 for fp32 and 1e-10 for fp64 (max abs diff).
template <typename T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-10;
}

// ---------------------------------------------------------------------------------------------------
// seqnet modules per model kind

template <typename T>
seqnet::Tensor<T, 3> to_tensor3(const std::vector<T>& values, Index d0, Index d1, Index d2) {
  seqnet::Tensor<T, 3> t(d0, d1, d2);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}
template <typename T>
seqnet::Tensor<T, 2> to_tensor2(const std::vector<T>& values, Index d0, Index d1) {
  seqnet::Tensor<T, 2> t(d0, d1);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}
template <typename T, int R>
std::vector<T> to_vector(const seqnet::Tensor<T, R>& t) {
  return std::vector<T>(t.data(), t.data() + t.size());
}

template <typename T, Model M>
struct ModuleTypes;
template <typename T>
struct ModuleTypes<T, Model::RNN> {
  using Module = seqnet::RNN<T>;
  using Options = seqnet::RNNOptions;
  using Cell = seqnet::RNNCell<T>;
  using CellOptions = seqnet::RNNCellOptions;
};
template <typename T>
struct ModuleTypes<T, Model::LSTM> {
  using Module = seqnet::LSTM<T>;
  using Options = seqnet::LSTMOptions;
  using Cell = seqnet::LSTMCell<T>;
  using CellOptions = seqnet::LSTMCellOptions;
};
#if SEQNET_BENCH_HAVE_GRU
template <typename T>
struct ModuleTypes<T, Model::GRU> {
  using Module = seqnet::GRU<T>;
  using Options = seqnet::GRUOptions;
  using Cell = seqnet::GRUCell<T>;
  using CellOptions = seqnet::GRUCellOptions;
};
#endif

/// A seqnet stacked module (RNN, LSTM, GRU) with its seeded weights and input, ready to time.
template <typename T, Model M>
class SeqnetModule {
  using Module = typename ModuleTypes<T, M>::Module;
  using Options = typename ModuleTypes<T, M>::Options;

 public:
  explicit SeqnetModule(const Case& c) : case_(c), generator_(seed_for(M, c)), module_(make(c, generator_)) {
    module_->eval();
    // Steady-state inference: the weights are packed once, as oneDNN's weight reorders are made once
    // outside its timed loop. The accessors below are const, so they keep it.
    if (bench_prepack()) module_->prepack();
    const Index d0 = c.batch_first ? c.batch : c.seq, d1 = c.batch_first ? c.seq : c.batch;
    input_ = to_tensor3(normal_values<T>(generator_, c.seq * c.batch * c.input), d0, d1, c.input);
  }

  /// The timed call: a forward pass from zero initial states, as `module(x)` in PyTorch.
  void run() const {
    auto result = (*module_)(input_);
    benchmark::DoNotOptimize(result.first.data());
  }

  Outputs<T> outputs() const {
    auto result = (*module_)(input_);
    Outputs<T> out;
    out.output = to_vector(result.first);
    if constexpr (M == Model::LSTM) {
      out.h_n = to_vector(result.second.first);
      out.c_n = to_vector(result.second.second);
    } else {
      out.h_n = to_vector(result.second);
    }
    return out;
  }

  const Case& shape() const { return case_; }
  const seqnet::Tensor<T, 3>& input() const { return input_; }
  auto named_parameters() const { return std::as_const(*module_).named_parameters(); }
  /// A parameter by its PyTorch name (`weight_ih_l0`, `bias_hh_l1_reverse`).
  const T* parameter(const std::string& name) const { return std::as_const(*module_).parameter(name).data(); }

 private:
  static std::unique_ptr<Module> make(const Case& c, seqnet::Generator& generator) {
    Options options = Options(c.input, c.hidden).num_layers(c.layers).bidirectional(c.directions == 2).batch_first(c.batch_first);
    if constexpr (M == Model::LSTM) options.proj_size(c.proj_size);
    return std::make_unique<Module>(options, generator);
  }

  Case case_;
  seqnet::Generator generator_;
  std::unique_ptr<Module> module_;
  seqnet::Tensor<T, 3> input_;
};

/// A seqnet cell (RNNCell, LSTMCell, GRUCell) with seeded weights, input and (non-zero) previous state: one step.
template <typename T, Model M>
class SeqnetCell {
  using Cell = typename ModuleTypes<T, M>::Cell;
  using CellOptions = typename ModuleTypes<T, M>::CellOptions;

 public:
  explicit SeqnetCell(const Case& c) : case_(c), generator_(seed_for(M, c)), cell_(make(c, generator_)) {
    input_ = to_tensor2(normal_values<T>(generator_, c.batch * c.input), c.batch, c.input);
    h0_ = to_tensor2(normal_values<T>(generator_, c.batch * c.hidden), c.batch, c.hidden);
    if constexpr (M == Model::LSTM) c0_ = to_tensor2(normal_values<T>(generator_, c.batch * c.hidden), c.batch, c.hidden);
    if (bench_prepack()) cell_->prepack();  // steady state, as for the modules
  }

  void run() const {
    if constexpr (M == Model::LSTM) {
      auto result = (*cell_)(input_, {h0_, c0_});
      benchmark::DoNotOptimize(result.first.data());
    } else {
      auto result = (*cell_)(input_, h0_);
      benchmark::DoNotOptimize(result.data());
    }
  }

  Outputs<T> outputs() const {
    Outputs<T> out;
    if constexpr (M == Model::LSTM) {
      auto result = (*cell_)(input_, {h0_, c0_});
      out.h_n = to_vector(result.first);
      out.c_n = to_vector(result.second);
    } else {
      out.h_n = to_vector((*cell_)(input_, h0_));
    }
    return out;
  }

  const Case& shape() const { return case_; }
  const seqnet::Tensor<T, 2>& input() const { return input_; }
  const seqnet::Tensor<T, 2>& h0() const { return h0_; }
  const seqnet::Tensor<T, 2>& c0() const { return c0_; }
  auto named_parameters() const { return std::as_const(*cell_).named_parameters(); }
  /// A parameter by the stacked modules' name (`weight_ih_l0`), so peers build cells and layers alike.
  const T* parameter(const std::string& name) const {
    const std::string suffix = "_l0";
    const bool layer0 = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    return std::as_const(*cell_).parameter(layer0 ? name.substr(0, name.size() - suffix.size()) : name).data();
  }

 private:
  static std::unique_ptr<Cell> make(const Case& c, seqnet::Generator& generator) {
    return std::make_unique<Cell>(CellOptions(c.input, c.hidden), generator);
  }

  Case case_;
  seqnet::Generator generator_;
  std::unique_ptr<Cell> cell_;
  seqnet::Tensor<T, 2> input_, h0_, c0_;
};

}  // namespace bench
