// freeze_weights(): a frozen module reuses its packed weights, gives the same bits as an unfrozen one (up
// to rounding for one-row cell steps), and never computes with stale weights after a writable accessor,
// a state dict load, a reset or an assignment.
#include <catch2/catch.hpp>

#include <type_traits>
#include <utility>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Tensor;

/// Scales every parameter of `module` through the views `named` gives.
template <typename Named>
void scale_all(Named&& named, float factor) {
  for (auto& [name, p] : named) p.flat() *= factor;
}

}  // namespace

TEST_CASE("a frozen LSTM gives the same bits and follows every parameter write", "[freeze]") {
  seqnet::Generator generator(3);
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16), generator);
  const Tensor<float, 3> x = seqnet::randn<float>(6, 5, 24);
  const auto reference = lstm(x);

  lstm.freeze_weights();
  CHECK(lstm.weights_frozen());
  const auto frozen = lstm(x);
  const auto again = lstm(x);
  CHECK(seqnet_test::identical(frozen.first, reference.first));
  CHECK(seqnet_test::identical(again.first, reference.first));
  CHECK(seqnet_test::identical(again.second.second, reference.second.second));

  SECTION("a writable accessor ends the freeze, so later writes through its view are seen") {
    auto weight = lstm.parameter("weight_hh_l1");
    CHECK_FALSE(lstm.weights_frozen());
    (void)lstm(x);
    weight.flat() *= 0.5f;
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
    CHECK_FALSE(seqnet_test::identical(lstm(x).first, reference.first));
  }
  SECTION("a view obtained before freezing: freeze_weights() again re-reads the parameters") {
    lstm.unfreeze_weights();
    auto weight = lstm.parameter("weight_ih_l0");
    lstm.freeze_weights();
    (void)lstm(x);
    weight.flat() *= 0.5f;
    lstm.freeze_weights();
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
    CHECK_FALSE(seqnet_test::identical(lstm(x).first, reference.first));
  }
  SECTION("named_parameters, flat_parameters, load_state_dict and reset_parameters end the freeze") {
    scale_all(lstm.named_parameters(), 0.5f);
    const auto halved = lstm(x);
    CHECK_FALSE(seqnet_test::identical(halved.first, reference.first));
    lstm.freeze_weights();
    (void)lstm(x);
    lstm.flat_parameters()[0] += 1.0f;
    CHECK_FALSE(lstm.weights_frozen());
    lstm.freeze_weights();
    (void)lstm(x);
    seqnet::LSTM<float> fresh(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16));
    seqnet::load_state_dict(lstm, seqnet::state_dict(std::as_const(fresh)));
    CHECK(seqnet_test::identical(lstm(x).first, fresh(x).first));
    lstm.freeze_weights();
    (void)lstm(x);
    seqnet::Generator again_generator(3);
    lstm.reset_parameters(again_generator);
    CHECK_FALSE(lstm.weights_frozen());
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
  }
  SECTION("assigning another module's parameters to a frozen one") {
    seqnet::LSTM<float> other(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16));
    other.freeze_weights();
    lstm = other;
    CHECK(lstm.weights_frozen());
    CHECK(seqnet_test::identical(lstm(x).first, other(x).first));
  }
}

TEMPLATE_TEST_CASE("a frozen cell gives the same bits and follows parameter writes", "[freeze]", float, double) {
  using T = TestType;
  seqnet::Generator generator(4);
  seqnet::LSTMCell<T> lstm_cell(seqnet::LSTMCellOptions(20, 32), generator);
  seqnet::GRUCell<T> gru_cell(20, 32, true);
  for (seqnet::Index batch : {1, 7}) {
    INFO("batch " << batch);
    const Tensor<T, 2> x = seqnet::randn<T>(batch, 20);
    const Tensor<T, 2> h = seqnet::randn<T>(batch, 32);
    const Tensor<T, 2> c = seqnet::randn<T>(batch, 32);
    const auto lstm_reference = lstm_cell(x, {h, c});
    const auto gru_reference = gru_cell(x, h);
    lstm_cell.freeze_weights();
    gru_cell.freeze_weights();
    // A frozen one-row step runs the packed kernel instead of the in-place matrix-vector product: the
    // same values up to rounding. Several rows run the packed kernel either way: the same bits.
    const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
    for (int call = 0; call < 2; ++call) {
      const auto lstm_frozen = lstm_cell(x, {h, c});
      const auto gru_frozen = gru_cell(x, h);
      if (batch == 1) {
        CHECK(seqnet_test::max_abs_diff(lstm_frozen.first, lstm_reference.first) <= tolerance);
        CHECK(seqnet_test::max_abs_diff(lstm_frozen.second, lstm_reference.second) <= tolerance);
        CHECK(seqnet_test::max_abs_diff(gru_frozen, gru_reference) <= tolerance);
      } else {
        CHECK(seqnet_test::identical(lstm_frozen.first, lstm_reference.first));
        CHECK(seqnet_test::identical(lstm_frozen.second, lstm_reference.second));
        CHECK(seqnet_test::identical(gru_frozen, gru_reference));
      }
    }
    auto weight = gru_cell.weight_hh();
    CHECK_FALSE(gru_cell.weights_frozen());
    (void)gru_cell(x, h);
    weight.flat() *= T(0.5);
    seqnet::GRUCell<T> copy = gru_cell;
    CHECK(seqnet_test::identical(gru_cell(x, h), copy(x, h)));
    CHECK_FALSE(seqnet_test::identical(gru_cell(x, h), gru_reference));
    gru_cell.weight_hh().flat() *= T(2);  // back to the reference weights (exact: powers of two)
  }
}
