// GRU and GRUCell beyond the golden numbers: repr, parameter layout, error texts (PyTorch 2.x), and the
// equivalence of the stacked module with its cell stepped by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::GRU;
using seqnet::GRUCell;
using seqnet::GRUCellOptions;
using seqnet::GRUOptions;
using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;

using seqnet_test::message_of;

}  // namespace

TEMPLATE_TEST_CASE("GRU repr matches PyTorch", "[gru][repr]", float, double) {
  CHECK(GRU<TestType>(10, 20).repr() == "GRU(10, 20)");
  CHECK(GRU<TestType>(GRUOptions(10, 20).num_layers(2).bias(false).batch_first(true).dropout(0.5).bidirectional(true))
            .repr() == "GRU(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)");
  CHECK(GRUCell<TestType>(10, 20).repr() == "GRUCell(10, 20)");
  CHECK(GRUCell<TestType>(10, 20, false).repr() == "GRUCell(10, 20, bias=False)");
}

TEMPLATE_TEST_CASE("GRU parameter layout matches PyTorch", "[gru][parameters]", float, double) {
  // [(n, tuple(p.shape)) for n, p in nn.GRU(10, 20, num_layers=2, bidirectional=True).named_parameters()]
  const std::vector<std::pair<std::string, Shape>> expected{
      {"weight_ih_l0", {60, 10}},         {"weight_hh_l0", {60, 20}},         {"bias_ih_l0", {60}},
      {"bias_hh_l0", {60}},               {"weight_ih_l0_reverse", {60, 10}}, {"weight_hh_l0_reverse", {60, 20}},
      {"bias_ih_l0_reverse", {60}},       {"bias_hh_l0_reverse", {60}},       {"weight_ih_l1", {60, 40}},
      {"weight_hh_l1", {60, 20}},         {"bias_ih_l1", {60}},               {"bias_hh_l1", {60}},
      {"weight_ih_l1_reverse", {60, 40}}, {"weight_hh_l1_reverse", {60, 20}}, {"bias_ih_l1_reverse", {60}},
      {"bias_hh_l1_reverse", {60}}};
  GRU<TestType> gru(GRUOptions(10, 20).num_layers(2).bidirectional(true));
  const auto params = gru.named_parameters();
  REQUIRE(params.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(params[i].first == expected[i].first);
    CHECK(params[i].second.dimensions() == expected[i].second);
  }
  CHECK(gru.num_parameters() == 11280);  // sum(p.numel() for p in ...parameters())

  GRUCell<TestType> cell(5, 7);
  const auto cell_params = cell.named_parameters();
  REQUIRE(cell_params.size() == 4);
  CHECK(cell_params[0].first == "weight_ih");
  CHECK(cell.weight_ih().dimensions() == Shape{21, 5});
  CHECK(cell.weight_hh().dimensions() == Shape{21, 7});
  CHECK(cell.bias_hh().dimensions() == Shape{21});
  // PyTorch's init: every value in U(-1/sqrt(7), 1/sqrt(7)).
  const double bound = 1.0 / std::sqrt(7.0);
  for (const auto& [name, p] : cell_params) {
    INFO(name);
    CHECK(p.flat().maxCoeff() <= bound);
    CHECK(p.flat().minCoeff() >= -bound);
  }
}

TEMPLATE_TEST_CASE("GRU errors use PyTorch's texts", "[gru][errors]", float, double) {
  using T = TestType;
  GRU<T> gru(GRUOptions(10, 20).num_layers(2));
  CHECK(message_of<seqnet::shape_error>([&] { gru(Tensor<T, 4>(1, 2, 3, 10)); }) ==
        "GRU: Expected input to be 2D or 3D, got 4D instead");
  CHECK(message_of<seqnet::shape_error>([&] { gru(Tensor<T, 3>(5, 3, 11)); }) ==
        "input.size(-1) must be equal to input_size. Expected 10, got 11");
  CHECK(message_of<seqnet::shape_error>([&] { gru(Tensor<T, 3>(5, 3, 10), Tensor<T, 2>(2, 20)); }) ==
        "For batched 3-D input, hx should also be 3-D but got 2-D tensor");
  CHECK(message_of<seqnet::shape_error>([&] { gru(Tensor<T, 3>(5, 3, 10), Tensor<T, 3>(2, 4, 20)); }) ==
        "Expected hidden size (2, 3, 20), got [2, 4, 20]");
  CHECK(message_of<seqnet::value_error>([] { GRU<T>(GRUOptions(10, 0)); }) == "hidden_size must be greater than zero");

  GRUCell<T> cell(10, 20);
  CHECK(message_of<seqnet::shape_error>([&] { cell(Tensor<T, 3>(1, 3, 10)); }) ==
        "GRUCell: Expected input to be 1D or 2D, got 3D instead");
  CHECK(message_of<seqnet::shape_error>([&] { cell(Tensor<T, 2>(3, 10), Tensor<T, 3>(1, 3, 20)); }) ==
        "GRUCell: Expected hidden to be 1D or 2D, got 3D instead");
  CHECK(message_of<seqnet::shape_error>([&] { cell(Tensor<T, 2>(3, 11)); }) ==
        "input has inconsistent input_size: got 11 expected 10");
  CHECK(message_of<seqnet::shape_error>([&] { cell(Tensor<T, 2>(3, 10), Tensor<T, 2>(5, 20)); }) ==
        "Input batch size 3 doesn't match hidden0 batch size 5");
  CHECK(message_of<seqnet::shape_error>([&] { cell(Tensor<T, 2>(3, 10), Tensor<T, 2>(3, 21)); }) ==
        "hidden0 has inconsistent hidden_size: got 21, expected 20");
}

TEMPLATE_TEST_CASE("GRU equals its cell stepped by hand, both directions", "[gru][modules]", float, double) {
  using T = TestType;
  seqnet::Generator generator(7);
  GRU<T> gru(GRUOptions(6, 5).bidirectional(true), generator);
  GRUCell<T> forward_cell(6, 5), reverse_cell(6, 5);
  for (const char* name : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
    forward_cell.parameter(name).flat() = gru.parameter(std::string(name) + "_l0").flat();
    reverse_cell.parameter(name).flat() = gru.parameter(std::string(name) + "_l0_reverse").flat();
  }
  const Index S = 4, B = 3, H = 5;
  const Tensor<T, 3> x = seqnet::randn<T>(S, B, 6);
  const Tensor<T, 3> h0 = seqnet::randn<T>(2, B, H);
  const auto [out, h_n] = gru(x, h0);

  // The module computes every step's input projection in one GEMM, the cell one step at a time, so
  // the two may round differently; the gate math itself is the same kernel.
  const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  Tensor<T, 2> h_forward = h0.template chip<0>(0), h_reverse = h0.template chip<0>(1);
  for (Index t = 0; t < S; ++t) {
    h_forward = forward_cell(Tensor<T, 2>(x.template chip<0>(t)), h_forward);
    h_reverse = reverse_cell(Tensor<T, 2>(x.template chip<0>(S - 1 - t)), h_reverse);
    const Tensor<T, 2> step = out.template chip<0>(t), step_reverse = out.template chip<0>(S - 1 - t);
    const Tensor<T, 2> out_forward = step.slice(Eigen::array<Index, 2>{0, 0}, Eigen::array<Index, 2>{B, H});
    const Tensor<T, 2> out_reverse = step_reverse.slice(Eigen::array<Index, 2>{0, H}, Eigen::array<Index, 2>{B, H});
    CHECK(seqnet_test::max_abs_diff(out_forward, h_forward) <= tolerance);
    CHECK(seqnet_test::max_abs_diff(out_reverse, h_reverse) <= tolerance);
  }
  CHECK(seqnet_test::max_abs_diff(Tensor<T, 2>(h_n.template chip<0>(0)), h_forward) <= tolerance);
  CHECK(seqnet_test::max_abs_diff(Tensor<T, 2>(h_n.template chip<0>(1)), h_reverse) <= tolerance);
  // A GRU that ignored the state would differ from the cell run by far more than rounding.
  CHECK(seqnet_test::max_abs_diff(Tensor<T, 2>(h_n.template chip<0>(0)), Tensor<T, 2>(forward_cell(
                                      Tensor<T, 2>(x.template chip<0>(S - 1))))) > 1e-3);
}
