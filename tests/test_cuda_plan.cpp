// The CUDA backend's forward plan, run on the host backend (plain loops, no GPU) against the CPU
// modules: every layer/direction/step/packed-batch/layout decision the GPU makes is checked here on
// every machine; only the kernels themselves need a GPU (tests/cuda).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "cuda/host_backend.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::SequenceLengths;
using seqnet::Shape;
using seqnet::Tensor;
namespace plan = seqnet::detail;

template <typename T, int R>
struct Results {
  Tensor<T, R> output, h, c;
};

template <typename T, int R>
Tensor<T, R> poisoned(const Shape& shape) {
  Tensor<T, R> t = seqnet::detail::make_tensor<T, R>(shape);
  t.setConstant(std::numeric_limits<T>::quiet_NaN());
  return t;
}

/// What the GPU module does around the plan, with the host backend: check, allocate (poisoned, so an
/// element the plan forgets shows as NaN), run.
/// `in_place` (cells): the results start as h0 and c0 and are passed as them, as
/// `cuda::LSTMCell::forward_into(hc, x, hc)` does.
template <typename T, int R, typename Module>
Results<T, R> run_plan(const Module& module, bool cell, const Tensor<T, R>& x, const Tensor<T, R>* h0,
                       const Tensor<T, R>* c0, const SequenceLengths* lengths, seqnet::Generator& generator,
                       seqnet::test::HostBackend<T>* backend_out = nullptr, bool in_place = false) {
  const auto& spec = module.spec();
  const seqnet::detail::ParameterLayout layout(spec);
  const Shape h_shape = h0 != nullptr ? seqnet::shape(*h0) : Shape{};
  const Shape c_shape = c0 != nullptr ? seqnet::shape(*c0) : Shape{};
  const plan::CallShape call =
      cell ? plan::cell_call(spec, seqnet::shape(x), h0 ? &h_shape : nullptr, c0 ? &c_shape : nullptr)
           : plan::module_call(spec, seqnet::shape(x), h0 ? &h_shape : nullptr, c0 ? &c_shape : nullptr, lengths);
  Results<T, R> r{poisoned<T, R>(call.output), poisoned<T, R>(call.h),
                  call.c.rank() > 0 ? poisoned<T, R>(call.c) : Tensor<T, R>()};
  const plan::StackPlan<T> stack(spec, layout, call.dims, call.has_lengths ? &call.packed : nullptr);
  std::vector<T> workspace(static_cast<std::size_t>(stack.workspace_size()), std::numeric_limits<T>::quiet_NaN());
  seqnet::detail::StackIO<T> io;
  io.input = x.data();
  io.h0 = h0 != nullptr ? h0->data() : nullptr;
  io.c0 = c0 != nullptr ? c0->data() : nullptr;
  io.output = r.output.data();
  io.h_n = cell ? r.output.data() : r.h.data();
  io.c_n = call.c.rank() > 0 ? r.c.data() : nullptr;
  if (in_place) {
    r.output = *h0;
    io.h0 = io.output = io.h_n = r.output.data();
    if (c0 != nullptr) {
      r.c = *c0;
      io.c0 = io.c_n = r.c.data();
    }
  }
  seqnet::test::HostBackend<T> backend;
  stack.run(backend, module.flat_parameters(), io, workspace.data(), call.packed.sorted_indices.data(),
            module.is_training(), generator);
  CHECK(backend.overlapping_steps == 0);
  if (cell) r.h = r.output;
  if (backend_out != nullptr) *backend_out = backend;
  return r;
}

template <typename T>
double tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 2e-5;
}

template <typename T, int R>
void check_close(const Tensor<T, R>& got, const Tensor<T, R>& want) {
  REQUIRE(seqnet::shape(got) == seqnet::shape(want));
  for (Index i = 0; i < got.size(); ++i) {
    const double g = got.data()[i], w = want.data()[i];
    INFO("element " << i << ": plan " << g << ", CPU " << w);
    REQUIRE(std::abs(g - w) <= tolerance<T>() * (1.0 + std::abs(w)));
  }
}

struct Case {
  const char* name;
  Index layers;
  bool bidirectional;
  bool batch_first;
  Index proj;
  bool bias;
  bool with_state;
  std::optional<std::vector<Index>> lengths;
  bool sorted = true;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"one layer", 1, false, false, 0, true, false, std::nullopt},
      {"given states", 1, false, false, 0, true, true, std::nullopt},
      {"stacked bidirectional", 3, true, false, 0, true, true, std::nullopt},
      {"batch_first bidirectional", 2, true, true, 0, true, false, std::nullopt},
      {"no bias", 2, false, false, 0, false, true, std::nullopt},
      {"packed sorted", 2, true, false, 0, true, true, std::vector<Index>{6, 4, 4, 1}},
      {"packed unsorted batch_first", 2, true, true, 0, true, true, std::vector<Index>{3, 6, 1, 5}, false},
      {"packed unsorted, zero states", 1, false, false, 0, true, false, std::vector<Index>{2, 6, 6, 3}, false},
  };
  return all;
}

template <typename T, typename Module, typename Options>
void check_module(Options options, const Case& c) {
  options.num_layers(c.layers).bidirectional(c.bidirectional).batch_first(c.batch_first).bias(c.bias);
  seqnet::Generator init(7);
  Module module(options, init);
  module.eval();
  const Index S = 6, B = 4, D = c.bidirectional ? 2 : 1;
  seqnet::manual_seed(11);
  const Tensor<T, 3> x = c.batch_first ? seqnet::randn<T>(B, S, options.input_size())
                                       : seqnet::randn<T>(S, B, options.input_size());
  const auto& spec = module.spec();
  const Tensor<T, 3> h0 = seqnet::randn<T>(c.layers * D, B, spec.output_size());
  const Tensor<T, 3> c0 = seqnet::randn<T>(c.layers * D, B, spec.hidden_size);
  const bool lstm = spec.kind == seqnet::detail::CellKind::LSTM;
  std::optional<SequenceLengths> lengths;
  if (c.lengths) lengths = SequenceLengths(*c.lengths).enforce_sorted(c.sorted);

  seqnet::Generator unused;
  const auto got = run_plan<T, 3>(module, false, x, c.with_state ? &h0 : nullptr,
                                  c.with_state && lstm ? &c0 : nullptr, lengths ? &*lengths : nullptr, unused);
  if constexpr (std::is_same_v<Module, seqnet::LSTM<T>>) {
    auto [out, hc] = lengths ? (c.with_state ? module(x, *lengths, {h0, c0}) : module(x, *lengths))
                             : (c.with_state ? module(x, {h0, c0}) : module(x));
    check_close(got.output, out);
    check_close(got.h, hc.first);
    check_close(got.c, hc.second);
  } else {
    auto [out, h_n] = lengths ? (c.with_state ? module(x, *lengths, h0) : module(x, *lengths))
                              : (c.with_state ? module(x, h0) : module(x));
    check_close(got.output, out);
    check_close(got.h, h_n);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("CUDA plan on the host equals the CPU modules", "[cuda][plan]", float, double) {
  using T = TestType;
  for (const Case& c : cases()) {
    DYNAMIC_SECTION(c.name) {
      check_module<T, seqnet::LSTM<T>>(seqnet::LSTMOptions(5, 7), c);
      check_module<T, seqnet::LSTM<T>>(seqnet::LSTMOptions(5, 7).proj_size(3), c);
      check_module<T, seqnet::GRU<T>>(seqnet::GRUOptions(5, 7), c);
      check_module<T, seqnet::RNN<T>>(seqnet::RNNOptions(5, 7), c);
      check_module<T, seqnet::RNN<T>>(seqnet::RNNOptions(5, 7).nonlinearity(seqnet::Nonlinearity::Relu), c);
    }
  }
}

TEMPLATE_TEST_CASE("CUDA plan on the host: unbatched input, cells, dropout", "[cuda][plan]", float, double) {
  using T = TestType;
  seqnet::manual_seed(3);
  SECTION("unbatched LSTM") {
    seqnet::Generator init(1);
    seqnet::LSTM<T> lstm(seqnet::LSTMOptions(4, 6).num_layers(2).bidirectional(true), init);
    const Tensor<T, 2> x = seqnet::randn<T>(5, 4);
    seqnet::Generator unused;
    const auto got = run_plan<T, 2>(lstm, false, x, nullptr, nullptr, nullptr, unused);
    auto [out, hc] = lstm(x);
    check_close(got.output, out);
    check_close(got.h, hc.first);
    check_close(got.c, hc.second);
  }
  SECTION("cells, batched and unbatched, with and without states") {
    seqnet::Generator init(2);
    seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(6, 5), init);
    seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(6, 5), init);
    seqnet::RNNCell<T> rnn(seqnet::RNNCellOptions(6, 5).bias(false).nonlinearity(seqnet::Nonlinearity::Relu), init);
    const Tensor<T, 2> x = seqnet::randn<T>(3, 6), h = seqnet::randn<T>(3, 5),
                       c = seqnet::randn<T>(3, 5);
    seqnet::Generator unused;
    auto lstm_got = run_plan<T, 2>(lstm, true, x, &h, &c, nullptr, unused);
    auto [h1, c1] = lstm(x, {h, c});
    check_close(lstm_got.h, h1);
    check_close(lstm_got.c, c1);
    check_close(run_plan<T, 2>(gru, true, x, &h, nullptr, nullptr, unused).h, gru(x, h));
    check_close(run_plan<T, 2>(gru, true, x, nullptr, nullptr, nullptr, unused).h, gru(x));
    check_close(run_plan<T, 2>(rnn, true, x, &h, nullptr, nullptr, unused).h, rnn(x, h));
    const Tensor<T, 1> x1 = seqnet::randn<T>(6), h1d = seqnet::randn<T>(5);
    check_close(run_plan<T, 1>(gru, true, x1, &h1d, nullptr, nullptr, unused).h, gru(x1, h1d));
  }
  SECTION("cells stepped in place: h0 is the result, c0 is c1") {
    seqnet::Generator init(6);
    seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(6, 40), init);
    seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(6, 40), init);
    const Tensor<T, 2> x = seqnet::randn<T>(3, 6), h = seqnet::randn<T>(3, 40), c = seqnet::randn<T>(3, 40);
    seqnet::Generator unused;
    const auto lstm_got = run_plan<T, 2>(lstm, true, x, &h, &c, nullptr, unused, nullptr, true);
    auto [h1, c1] = lstm(x, {h, c});
    check_close(lstm_got.h, h1);
    check_close(lstm_got.c, c1);
    check_close(run_plan<T, 2>(gru, true, x, &h, nullptr, nullptr, unused, nullptr, true).h, gru(x, h));
  }
  SECTION("cells of size 0: input_size 0 steps on the biases and h, hidden_size 0 issues nothing") {
    seqnet::Generator init(8);
    seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(0, 5), init);
    seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(0, 5), init);
    const Tensor<T, 2> x(3, 0), h = seqnet::randn<T>(3, 5), c = seqnet::randn<T>(3, 5);
    seqnet::Generator unused;
    auto lstm_got = run_plan<T, 2>(lstm, true, x, &h, &c, nullptr, unused);
    auto [h1, c1] = lstm(x, {h, c});
    check_close(lstm_got.h, h1);
    check_close(lstm_got.c, c1);
    check_close(run_plan<T, 2>(gru, true, x, &h, nullptr, nullptr, unused).h, gru(x, h));
    seqnet::RNNCell<T> empty(seqnet::RNNCellOptions(4, 0), init);
    seqnet::test::HostBackend<T> backend;
    const auto got = run_plan<T, 2>(empty, true, seqnet::randn<T>(3, 4), nullptr, nullptr, nullptr, unused, &backend);
    CHECK(seqnet::shape(got.h) == seqnet::Shape{3, 0});
    CHECK(backend.products == 0);
    CHECK(backend.steps == 0);
  }
  SECTION("training-mode dropout draws the CPU's mask") {
    seqnet::Generator init(4);
    seqnet::GRU<T> gru(seqnet::GRUOptions(4, 6).num_layers(3).dropout(0.4), init);
    gru.train();
    const Tensor<T, 3> x = seqnet::randn<T>(5, 2, 4);
    seqnet::Generator cpu_masks(99), plan_masks(99);
    gru.set_generator(cpu_masks);
    auto [out, h_n] = gru(x);
    const auto got = run_plan<T, 3>(gru, false, x, nullptr, nullptr, nullptr, plan_masks);
    check_close(got.output, out);
    check_close(got.h, h_n);
    CHECK(cpu_masks.uniform01() == plan_masks.uniform01());  // both drew the same count
  }
  SECTION("what the plan issues: one input product per layer and direction, one step per time step") {
    seqnet::Generator init(5);
    seqnet::LSTM<T> lstm(seqnet::LSTMOptions(4, 6).num_layers(2).bidirectional(true).proj_size(2), init);
    const Tensor<T, 3> x = seqnet::randn<T>(5, 3, 4);
    seqnet::Generator unused;
    seqnet::test::HostBackend<T> backend;
    run_plan<T, 3>(lstm, false, x, nullptr, nullptr, nullptr, unused, &backend);
    CHECK(backend.forks == 2);
    CHECK(backend.steps == 2 * 2 * 5);
    CHECK(backend.products == 2 * 2 * (1 + 2 * 5));  // input product, then per step W_hh and W_hr
  }
}

TEST_CASE("CUDA plan shape checks are the CPU modules' own", "[cuda][plan][errors]") {
  seqnet::LSTM<float> lstm(3, 4);
  const Shape x{5, 2, 3}, bad_h{1, 2, 5}, c{1, 2, 4};
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] {
          plan::module_call(lstm.spec(), x, &bad_h, &c, nullptr);
        }) == "Expected hidden[0] size (1, 2, 4), got [1, 2, 5]");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] {
          plan::module_call(lstm.spec(), Shape{5, 2, 6}, nullptr, nullptr, nullptr);
        }) == "input.size(-1) must be equal to input_size. Expected 3, got 6");
  const SequenceLengths lengths{5, 7};
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] {
          plan::module_call(lstm.spec(), x, nullptr, nullptr, &lengths);
        }).find("sorted in decreasing order") != std::string::npos);
}
