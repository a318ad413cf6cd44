// Parameter names, order, shapes, views and initialisation. The expected name/shape lists were printed
// by PyTorch (`[(n, tuple(p.shape)) for n, p in m.named_parameters()]`) and are hard-coded here.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <seqnet/seqnet.hpp>

namespace {

using seqnet::Index;
using seqnet::LSTM;
using seqnet::LSTMCell;
using seqnet::LSTMOptions;
using seqnet::RNN;
using seqnet::RNNCell;
using seqnet::RNNOptions;
using seqnet::Shape;

struct Expected {
  std::string name;
  Shape shape;
};

/// Checks names, order and shapes of named_parameters() (mutable and const), that the entries tile the
/// flat buffer back to back in that order, and that num_parameters() equals PyTorch's count.
template <typename M>
void check_layout(M& module, const std::vector<Expected>& expected, Index torch_count) {
  auto named = module.named_parameters();
  REQUIRE(named.size() == expected.size());
  Index offset = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("parameter #" << i << " expected " << expected[i].name);
    CHECK(named[i].first == expected[i].name);
    CHECK(named[i].second.dimensions() == expected[i].shape);
    CHECK(named[i].second.rank() == expected[i].shape.rank());
    CHECK(named[i].second.size() == expected[i].shape.numel());
    CHECK(named[i].second.data() == module.flat_parameters() + offset);
    offset += named[i].second.size();
  }
  CHECK(offset == torch_count);
  CHECK(module.num_parameters() == torch_count);

  const M& const_module = module;
  auto const_named = const_module.named_parameters();
  REQUIRE(const_named.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(const_named[i].first == expected[i].name);
    CHECK(const_named[i].second.dimensions() == expected[i].shape);
    CHECK(const_named[i].second.data() == named[i].second.data());
  }
}

template <typename T>
double max_abs_diff_flat(const T* a, const T* b, Index n) {
  double worst = 0.0;
  for (Index i = 0; i < n; ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return worst;
}

template <typename M>
std::vector<typename M::Scalar> flat_copy(const M& module) {
  return std::vector<typename M::Scalar>(module.flat_parameters(), module.flat_parameters() + module.num_parameters());
}

}  // namespace

TEMPLATE_TEST_CASE("stacked bidirectional LSTM with projections has PyTorch's parameters", "[parameters][lstm]", float,
                   double) {
  // torch.nn.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5): 5840 parameters.
  // Layer 1's input is 2 * proj_size = 10 wide, so weight_ih_l1 is [80, 10].
  LSTM<TestType> lstm(LSTMOptions(10, 20).num_layers(2).bidirectional(true).proj_size(5));
  check_layout(lstm,
               {{"weight_ih_l0", {80, 10}},         {"weight_hh_l0", {80, 5}},          {"bias_ih_l0", {80}},
                {"bias_hh_l0", {80}},               {"weight_hr_l0", {5, 20}},          {"weight_ih_l0_reverse", {80, 10}},
                {"weight_hh_l0_reverse", {80, 5}},  {"bias_ih_l0_reverse", {80}},       {"bias_hh_l0_reverse", {80}},
                {"weight_hr_l0_reverse", {5, 20}},  {"weight_ih_l1", {80, 10}},         {"weight_hh_l1", {80, 5}},
                {"bias_ih_l1", {80}},               {"bias_hh_l1", {80}},               {"weight_hr_l1", {5, 20}},
                {"weight_ih_l1_reverse", {80, 10}}, {"weight_hh_l1_reverse", {80, 5}},  {"bias_ih_l1_reverse", {80}},
                {"bias_hh_l1_reverse", {80}},       {"weight_hr_l1_reverse", {5, 20}}},
               5840);
}

TEMPLATE_TEST_CASE("LSTM parameter layouts match PyTorch", "[parameters][lstm]", float, double) {
  SECTION("torch.nn.LSTM(100, 20, 4)") {
    LSTM<TestType> lstm(100, 20, 4);
    check_layout(lstm,
                 {{"weight_ih_l0", {80, 100}}, {"weight_hh_l0", {80, 20}}, {"bias_ih_l0", {80}}, {"bias_hh_l0", {80}},
                  {"weight_ih_l1", {80, 20}},  {"weight_hh_l1", {80, 20}}, {"bias_ih_l1", {80}}, {"bias_hh_l1", {80}},
                  {"weight_ih_l2", {80, 20}},  {"weight_hh_l2", {80, 20}}, {"bias_ih_l2", {80}}, {"bias_hh_l2", {80}},
                  {"weight_ih_l3", {80, 20}},  {"weight_hh_l3", {80, 20}}, {"bias_ih_l3", {80}}, {"bias_hh_l3", {80}}},
                 19840);
  }
  SECTION("torch.nn.LSTM(10, 20, proj_size=5, bias=False)") {
    LSTM<TestType> lstm(LSTMOptions(10, 20).proj_size(5).bias(false));
    check_layout(lstm, {{"weight_ih_l0", {80, 10}}, {"weight_hh_l0", {80, 5}}, {"weight_hr_l0", {5, 20}}}, 1300);
  }
}

TEMPLATE_TEST_CASE("RNN parameter layouts match PyTorch", "[parameters][rnn]", float, double) {
  SECTION("torch.nn.RNN(10, 20, num_layers=2, bias=False)") {
    RNN<TestType> rnn(RNNOptions(10, 20).num_layers(2).bias(false));
    check_layout(rnn,
                 {{"weight_ih_l0", {20, 10}}, {"weight_hh_l0", {20, 20}}, {"weight_ih_l1", {20, 20}},
                  {"weight_hh_l1", {20, 20}}},
                 1400);
  }
  SECTION("torch.nn.RNN(10, 20, num_layers=2, bidirectional=True)") {
    RNN<TestType> rnn(RNNOptions(10, 20).num_layers(2).bidirectional(true));
    check_layout(rnn,
                 {{"weight_ih_l0", {20, 10}},         {"weight_hh_l0", {20, 20}},         {"bias_ih_l0", {20}},
                  {"bias_hh_l0", {20}},               {"weight_ih_l0_reverse", {20, 10}}, {"weight_hh_l0_reverse", {20, 20}},
                  {"bias_ih_l0_reverse", {20}},       {"bias_hh_l0_reverse", {20}},       {"weight_ih_l1", {20, 40}},
                  {"weight_hh_l1", {20, 20}},         {"bias_ih_l1", {20}},               {"bias_hh_l1", {20}},
                  {"weight_ih_l1_reverse", {20, 40}}, {"weight_hh_l1_reverse", {20, 20}}, {"bias_ih_l1_reverse", {20}},
                  {"bias_hh_l1_reverse", {20}}},
                 3760);
  }
}

TEMPLATE_TEST_CASE("cell parameter layouts match PyTorch", "[parameters][cell]", float, double) {
  SECTION("torch.nn.RNNCell(5, 7)") {
    RNNCell<TestType> cell(5, 7);
    check_layout(cell, {{"weight_ih", {7, 5}}, {"weight_hh", {7, 7}}, {"bias_ih", {7}}, {"bias_hh", {7}}}, 98);
    CHECK(cell.weight_ih().data() == cell.parameter("weight_ih").data());
    CHECK(cell.weight_hh().data() == cell.parameter("weight_hh").data());
    CHECK(cell.bias_ih().data() == cell.parameter("bias_ih").data());
    CHECK(cell.bias_hh().data() == cell.parameter("bias_hh").data());
    CHECK(cell.weight_ih().dimensions() == Shape{7, 5});
  }
  SECTION("torch.nn.RNNCell(5, 7, bias=False)") {
    RNNCell<TestType> cell(5, 7, false);
    check_layout(cell, {{"weight_ih", {7, 5}}, {"weight_hh", {7, 7}}}, 84);
  }
  SECTION("torch.nn.LSTMCell(3, 4)") {
    LSTMCell<TestType> cell(3, 4);
    check_layout(cell, {{"weight_ih", {16, 3}}, {"weight_hh", {16, 4}}, {"bias_ih", {16}}, {"bias_hh", {16}}}, 144);
    const LSTMCell<TestType>& const_cell = cell;
    CHECK(const_cell.weight_hh().data() == cell.parameter("weight_hh").data());
    CHECK(const_cell.bias_hh().dimensions() == Shape{16});
  }
  SECTION("torch.nn.LSTMCell(3, 4, bias=False)") {
    LSTMCell<TestType> cell(3, 4, false);
    check_layout(cell, {{"weight_ih", {16, 3}}, {"weight_hh", {16, 4}}}, 112);
  }
}

TEMPLATE_TEST_CASE("parameter(name) is a writable view of the same memory as named_parameters()", "[parameters]",
                   float, double) {
  using T = TestType;
  LSTM<T> lstm(LSTMOptions(6, 5).num_layers(2).bidirectional(true));
  auto named = lstm.named_parameters();
  for (auto& entry : named) {
    INFO(entry.first);
    auto view = lstm.parameter(entry.first);
    CHECK(view.data() == entry.second.data());
    CHECK(view.dimensions() == entry.second.dimensions());
  }

  // Write through parameter(), read through named_parameters() and the flat buffer.
  auto w = lstm.parameter("weight_hh_l1_reverse");
  w.data()[3] = T(0.625);
  w.template tensor<2>()(2, 1) = T(-0.375);
  const auto* entry = &named[0];
  for (const auto& e : named)
    if (e.first == "weight_hh_l1_reverse") entry = &e;
  REQUIRE(entry->first == "weight_hh_l1_reverse");
  CHECK(entry->second.data()[3] == T(0.625));
  CHECK(entry->second.template tensor<2>()(2, 1) == T(-0.375));
  CHECK(entry->second.data()[2 * 5 + 1] == T(-0.375));
  const Index offset = entry->second.data() - lstm.flat_parameters();
  CHECK(lstm.flat_parameters()[offset + 3] == T(0.625));

  // Write through named_parameters(), read through parameter().
  for (auto& e : named)
    if (e.first == "bias_ih_l0") e.second.flat().setConstant(T(0.25));
  auto b = lstm.parameter("bias_ih_l0");
  for (Index i = 0; i < b.size(); ++i) CHECK(b.data()[i] == T(0.25));
  CHECK(b.flat().size() == 20);

  // A fresh named_parameters() list sees both writes.
  bool seen = false;
  for (auto& e : lstm.named_parameters()) {
    if (e.first == "weight_hh_l1_reverse") {
      seen = true;
      CHECK(e.second.data()[3] == T(0.625));
    }
  }
  CHECK(seen);

  // Parameter::assign copies a whole tensor in.
  seqnet::Tensor<T, 1> values(20);
  for (Index i = 0; i < 20; ++i) values(i) = static_cast<T>(i) / T(8);
  lstm.parameter("bias_hh_l0_reverse").assign(values);
  auto bh = lstm.parameter("bias_hh_l0_reverse");
  for (Index i = 0; i < 20; ++i) CHECK(bh.data()[i] == static_cast<T>(i) / T(8));
}

TEMPLATE_TEST_CASE("changing a parameter changes the forward output", "[parameters]", float, double) {
  using T = TestType;
  seqnet::manual_seed(11);
  RNN<T> rnn(RNNOptions(4, 3).num_layers(2));
  const seqnet::Tensor<T, 3> x = seqnet::rand<T>(5, 2, 4);
  const auto [out_before, h_before] = rnn(x);

  const auto [out_again, h_again] = rnn(x);
  CHECK(max_abs_diff_flat(out_before.data(), out_again.data(), out_before.size()) == 0.0);

  // Zeroing layer 1's biases through parameter() changes the result ...
  rnn.parameter("bias_ih_l1").flat().setZero();
  const auto [out_after, h_after] = rnn(x);
  CHECK(max_abs_diff_flat(out_before.data(), out_after.data(), out_before.size()) > 1e-3);
  // ... but not layer 0's final state, which does not depend on layer 1.
  CHECK(h_after(0, 0, 0) == h_before(0, 0, 0));
  CHECK(h_after(0, 1, 2) == h_before(0, 1, 2));
  CHECK(h_after(1, 0, 0) != h_before(1, 0, 0));

  // Zeroing every weight and bias makes the whole output tanh(0) = 0.
  for (auto& entry : rnn.named_parameters()) entry.second.flat().setZero();
  const auto [out_zero, h_zero] = rnn(x);
  for (Index i = 0; i < out_zero.size(); ++i) CHECK(out_zero.data()[i] == T(0));

  // Setting only bias_hh_l1 to c makes layer 1's output tanh(c) at every step.
  rnn.parameter("bias_hh_l1").flat().setConstant(T(0.5));
  const auto [out_bias, h_bias] = rnn(x);
  for (Index i = 0; i < out_bias.size(); ++i) CHECK(out_bias.data()[i] == Approx(std::tanh(0.5)).epsilon(1e-6));
  for (Index i = 0; i < 6; ++i) CHECK(h_bias.data()[i] == T(0));  // layer 0's h_n stays zero
}

TEMPLATE_TEST_CASE("a const module gives read-only views of the same memory", "[parameters]", float, double) {
  using T = TestType;
  LSTM<T> lstm(LSTMOptions(3, 4).proj_size(2));
  const LSTM<T>& const_lstm = lstm;

  static_assert(std::is_same_v<decltype(const_lstm.parameter("weight_hr_l0")), seqnet::Parameter<const T>>);
  static_assert(std::is_same_v<decltype(const_lstm.parameter("weight_hr_l0").data()), const T*>);
  static_assert(std::is_same_v<decltype(const_lstm.named_parameters()), seqnet::NamedParameters<const T>>);
  static_assert(std::is_same_v<decltype(const_lstm.flat_parameters()), const T*>);
  static_assert(std::is_same_v<decltype(lstm.parameter("weight_hr_l0")), seqnet::Parameter<T>>);
  static_assert(std::is_same_v<decltype(lstm.flat_parameters()), T*>);
  using ConstFlat = decltype(const_lstm.parameter("weight_hr_l0").flat());
  static_assert(std::is_const_v<std::remove_pointer_t<decltype(std::declval<ConstFlat>().data())>>);

  auto read_only = const_lstm.parameter("weight_hr_l0");
  auto writable = lstm.parameter("weight_hr_l0");
  CHECK(read_only.data() == writable.data());
  CHECK(read_only.dimensions() == Shape{2, 4});
  writable.data()[5] = T(0.75);
  CHECK(read_only.data()[5] == T(0.75));
  CHECK(read_only.template tensor<2>()(1, 1) == T(0.75));
  CHECK(read_only.flat()(5) == T(0.75));
}

TEMPLATE_TEST_CASE("Parameter::assign and tensor<R>() reject mismatched shapes", "[parameters][errors]", float, double) {
  using T = TestType;
  LSTM<T> lstm(LSTMOptions(10, 20).num_layers(2).bidirectional(true).proj_size(5));
  auto w = lstm.parameter("weight_ih_l1");
  const std::vector<T> before(w.data(), w.data() + w.size());

  seqnet::Tensor<T, 2> transposed(10, 80);
  transposed.setConstant(T(1));
  CHECK_THROWS_MATCHES(w.assign(transposed), seqnet::shape_error,
                       Catch::Matchers::Message("parameter shape mismatch: expected [80, 10], got [10, 80]"));
  seqnet::Tensor<T, 1> flat(800);
  flat.setConstant(T(1));
  CHECK_THROWS_MATCHES(w.assign(flat), seqnet::shape_error,
                       Catch::Matchers::Message("parameter shape mismatch: expected [80, 10], got [800]"));
  CHECK_THROWS_MATCHES(w.assign(flat), std::invalid_argument,
                       Catch::Matchers::Message("parameter shape mismatch: expected [80, 10], got [800]"));
  seqnet::Tensor<T, 1> bias(79);
  bias.setZero();
  CHECK_THROWS_MATCHES(lstm.parameter("bias_hh_l0").assign(bias), seqnet::shape_error,
                       Catch::Matchers::Message("parameter shape mismatch: expected [80], got [79]"));
  // A failed assign writes nothing.
  CHECK(std::vector<T>(w.data(), w.data() + w.size()) == before);

  CHECK_THROWS_MATCHES(w.template tensor<1>(), seqnet::shape_error,
                       Catch::Matchers::Message("parameter has 2 dimensions, not 1"));
  CHECK_THROWS_MATCHES(lstm.parameter("bias_ih_l0").template tensor<2>(), seqnet::shape_error,
                       Catch::Matchers::Message("parameter has 1 dimensions, not 2"));
  CHECK(w.template tensor<2>().dimension(0) == 80);
  CHECK(w.template tensor<2>().dimension(1) == 10);

  seqnet::Tensor<T, 2> right(80, 10);
  right.setConstant(T(0.5));
  CHECK_NOTHROW(w.assign(right));
  CHECK(w.data()[0] == T(0.5));
  CHECK(w.data()[799] == T(0.5));
}

TEMPLATE_TEST_CASE("default init is U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter",
                   "[parameters][init]", float, double) {
  using T = TestType;
  // hidden_size 64, proj_size 16: weight_hr must use 1/sqrt(64) = 0.125, not 1/sqrt(16) = 0.25.
  LSTM<T> lstm(LSTMOptions(12, 64).num_layers(2).bidirectional(true).proj_size(16));
  const T bound = static_cast<T>(1.0 / std::sqrt(64.0));
  for (const auto& [name, p] : lstm.named_parameters()) {
    INFO(name);
    T lo = p.data()[0], hi = p.data()[0];
    std::set<T> distinct;
    for (Index i = 0; i < p.size(); ++i) {
      lo = std::min(lo, p.data()[i]);
      hi = std::max(hi, p.data()[i]);
      distinct.insert(p.data()[i]);
    }
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    // The range is actually used (so a bound of 1/sqrt(proj_size), or a narrower one, would be noticed).
    CHECK(lo < -T(0.9) * bound);
    CHECK(hi > T(0.9) * bound);
    // Not all equal: (nearly) every value is distinct.
    CHECK(static_cast<Index>(distinct.size()) > p.size() * 9 / 10);
  }

  RNNCell<T> cell(7, 9);
  const T cell_bound = static_cast<T>(1.0 / 3.0);
  T lo = 1, hi = -1;
  for (Index i = 0; i < cell.num_parameters(); ++i) {
    lo = std::min(lo, cell.flat_parameters()[i]);
    hi = std::max(hi, cell.flat_parameters()[i]);
  }
  CHECK(lo >= -cell_bound);
  CHECK(hi <= cell_bound);
  CHECK(lo < -T(0.8) * cell_bound);
  CHECK(hi > T(0.8) * cell_bound);
}

TEMPLATE_TEST_CASE("init is reproducible from seeds and differs between seeds", "[parameters][init][random]", float,
                   double) {
  using T = TestType;
  const auto options = LSTMOptions(5, 8).num_layers(2).proj_size(3);

  SECTION("manual_seed on the default generator") {
    seqnet::manual_seed(1234);
    LSTM<T> a(options);
    seqnet::manual_seed(1234);
    LSTM<T> b(options);
    seqnet::manual_seed(1235);
    LSTM<T> c(options);
    CHECK(flat_copy(a) == flat_copy(b));
    CHECK(flat_copy(a) != flat_copy(c));
    // Two modules built one after the other without reseeding differ.
    seqnet::manual_seed(1234);
    LSTM<T> first(options);
    LSTM<T> second(options);
    CHECK(flat_copy(first) != flat_copy(second));
  }

  SECTION("an explicit Generator") {
    seqnet::Generator g1(99), g2(99), g3(100);
    LSTM<T> a(options, g1);
    LSTM<T> b(options, g2);
    LSTM<T> c(options, g3);
    CHECK(flat_copy(a) == flat_copy(b));
    CHECK(flat_copy(a) != flat_copy(c));
    // An explicit generator with the same seed as manual_seed gives the same parameters.
    seqnet::manual_seed(99);
    LSTM<T> d(options);
    CHECK(flat_copy(a) == flat_copy(d));
  }

  SECTION("an explicit Generator leaves the default generator alone") {
    seqnet::manual_seed(5);
    const double expected = seqnet::default_generator().uniform01();
    seqnet::manual_seed(5);
    seqnet::Generator own(77);
    LSTM<T> module(options, own);
    CHECK(seqnet::default_generator().uniform01() == expected);
  }

  SECTION("values are drawn in named_parameters() order from one uniform stream") {
    seqnet::Generator g(2024);
    LSTM<T> module(options, g);
    seqnet::Generator replay(2024);
    const double bound = 1.0 / std::sqrt(8.0);
    for (Index i = 0; i < module.num_parameters(); ++i)
      REQUIRE(module.flat_parameters()[i] == static_cast<T>(replay.uniform(-bound, bound)));
  }

  SECTION("reset_parameters redraws like a fresh construction") {
    seqnet::Generator g1(3), g2(3);
    LSTM<T> fresh(options, g1);
    seqnet::manual_seed(8);
    LSTM<T> reset(options);
    CHECK(flat_copy(reset) != flat_copy(fresh));
    reset.reset_parameters(g2);
    CHECK(flat_copy(reset) == flat_copy(fresh));
    seqnet::manual_seed(3);
    reset.reset_parameters();
    CHECK(flat_copy(reset) == flat_copy(fresh));
  }

  SECTION("cells") {
    seqnet::Generator g1(42), g2(42), g3(43);
    LSTMCell<T> a(seqnet::LSTMCellOptions(4, 6), g1);
    LSTMCell<T> b(seqnet::LSTMCellOptions(4, 6), g2);
    LSTMCell<T> c(seqnet::LSTMCellOptions(4, 6), g3);
    CHECK(flat_copy(a) == flat_copy(b));
    CHECK(flat_copy(a) != flat_copy(c));
  }
}

TEMPLATE_TEST_CASE("flat_parameters and num_parameters agree with named_parameters", "[parameters]", float, double) {
  using T = TestType;
  RNN<T> rnn(RNNOptions(7, 3).num_layers(3).bidirectional(true).bias(false));
  Index total = 0;
  for (const auto& entry : rnn.named_parameters()) total += entry.second.size();
  // 3*7 + 3*3, then two layers of 3*6 + 3*3, each twice for the two directions.
  CHECK(total == 2 * (21 + 9) + 4 * (18 + 9));
  CHECK(rnn.num_parameters() == total);

  // Writing the flat buffer is visible through the named views.
  for (Index i = 0; i < rnn.num_parameters(); ++i) rnn.flat_parameters()[i] = static_cast<T>(i);
  Index expected = 0;
  for (const auto& entry : rnn.named_parameters()) {
    for (Index i = 0; i < entry.second.size(); ++i) REQUIRE(entry.second.data()[i] == static_cast<T>(expected + i));
    expected += entry.second.size();
  }
  CHECK(expected == rnn.num_parameters());
}
