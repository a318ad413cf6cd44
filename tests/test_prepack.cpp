// prepack(): a prepacked module reuses its packed weights, gives the same bits as an unpacked one (up
// to rounding for one-row cell steps), and never computes with stale weights after a writable accessor,
// a state dict load, a reset or an assignment.
#include <catch2/catch.hpp>

#include <cstdint>
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

TEST_CASE("a prepacked LSTM gives the same bits and follows every parameter write", "[prepack]") {
  seqnet::Generator generator(3);
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16), generator);
  const Tensor<float, 3> x = seqnet::randn<float>(6, 5, 24);
  const auto reference = lstm(x);

  lstm.prepack();
  CHECK(lstm.is_prepacked());
  const auto frozen = lstm(x);
  const auto again = lstm(x);
  CHECK(seqnet_test::identical(frozen.first, reference.first));
  CHECK(seqnet_test::identical(again.first, reference.first));
  CHECK(seqnet_test::identical(again.second.second, reference.second.second));

  SECTION("a writable accessor ends the prepacking, so later writes through its view are seen") {
    auto weight = lstm.parameter("weight_hh_l1");
    CHECK_FALSE(lstm.is_prepacked());
    (void)lstm(x);
    weight.flat() *= 0.5f;
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
    CHECK_FALSE(seqnet_test::identical(lstm(x).first, reference.first));
  }
  SECTION("a view obtained before freezing: prepack() again re-reads the parameters") {
    lstm.prepack(false);
    auto weight = lstm.parameter("weight_ih_l0");
    lstm.prepack();
    (void)lstm(x);
    weight.flat() *= 0.5f;
    lstm.prepack();
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
    CHECK_FALSE(seqnet_test::identical(lstm(x).first, reference.first));
  }
  SECTION("named_parameters, flat_parameters, load_state_dict and reset_parameters end the freeze") {
    scale_all(lstm.named_parameters(), 0.5f);
    const auto halved = lstm(x);
    CHECK_FALSE(seqnet_test::identical(halved.first, reference.first));
    lstm.prepack();
    (void)lstm(x);
    lstm.flat_parameters()[0] += 1.0f;
    CHECK_FALSE(lstm.is_prepacked());
    lstm.prepack();
    (void)lstm(x);
    seqnet::LSTM<float> fresh(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16));
    seqnet::load_state_dict(lstm, seqnet::state_dict(std::as_const(fresh)));
    CHECK(seqnet_test::identical(lstm(x).first, fresh(x).first));
    lstm.prepack();
    (void)lstm(x);
    seqnet::Generator again_generator(3);
    lstm.reset_parameters(again_generator);
    CHECK_FALSE(lstm.is_prepacked());
    seqnet::LSTM<float> copy = lstm;
    CHECK(seqnet_test::identical(lstm(x).first, copy(x).first));
  }
  SECTION("assigning another module's parameters to a prepacked one") {
    seqnet::LSTM<float> other(seqnet::LSTMOptions(24, 40).num_layers(2).proj_size(16));
    other.prepack();
    lstm = other;
    CHECK(lstm.is_prepacked());
    CHECK(seqnet_test::identical(lstm(x).first, other(x).first));
  }
}

TEMPLATE_TEST_CASE("a prepacked cell gives the same bits and follows parameter writes", "[prepack]", float, double) {
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
    lstm_cell.prepack();
    gru_cell.prepack();
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
    CHECK_FALSE(gru_cell.is_prepacked());
    (void)gru_cell(x, h);
    weight.flat() *= T(0.5);
    seqnet::GRUCell<T> copy = gru_cell;
    CHECK(seqnet_test::identical(gru_cell(x, h), copy(x, h)));
    CHECK_FALSE(seqnet_test::identical(gru_cell(x, h), gru_reference));
    gru_cell.weight_hh().flat() *= T(2);  // back to the reference weights (exact: powers of two)
  }
}

TEST_CASE("saving a prepacked module keeps it prepacked", "[prepack]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(4, 8).num_layers(2));
  lstm.prepack();
  const std::uint64_t version = lstm.parameter_version();
  (void)seqnet::state_dict(lstm);
  CHECK(lstm.is_prepacked());
  (void)seqnet::serialize_safetensors(lstm);
  CHECK(lstm.is_prepacked());
  CHECK(lstm.parameter_version() == version);
  (void)lstm.named_parameters();  // a writable view: the values may change from here on
  CHECK_FALSE(lstm.is_prepacked());
  CHECK(lstm.parameter_version() != version);
}

// The bug this replaces: a Stream kept the weight matrices it had packed while reading the biases live,
// so after a load it ran the old matrices with the new biases, matching neither model.
TEMPLATE_TEST_CASE("a stream runs exactly the newly loaded weights after a load", "[prepack][stream]", float, double) {
  using T = TestType;
  seqnet::Generator g1(5), g2(6);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(3, 7).num_layers(2), g1);
  const seqnet::LSTM<T> other(seqnet::LSTMOptions(3, 7).num_layers(2), g2);
  for (bool prepacked : {false, true}) {
    for (int how = 0; how < 3; ++how) {
      INFO("prepacked " << prepacked << ", load " << how);
      seqnet::LSTM<T> streamed = lstm;
      if (prepacked) streamed.prepack();
      seqnet::Stream<seqnet::LSTM<T>> stream(streamed);
      const Tensor<T, 3> warmup = seqnet::randn<T>(4, 1, 3);
      (void)stream.feed(warmup);
      const Tensor<T, 3> h = stream.h(), c = stream.c();
      if (how == 0) {
        seqnet::load_state_dict(streamed, seqnet::state_dict(other));
      } else if (how == 1) {
        seqnet::load_safetensors(seqnet::Safetensors::parse(seqnet::serialize_safetensors(other)), streamed);
      } else {
        const auto source = other.named_parameters();
        auto target = streamed.named_parameters();
        for (std::size_t i = 0; i < source.size(); ++i) target[i].second.flat() = source[i].second.flat();
      }
      if (prepacked) streamed.prepack();
      const Tensor<T, 3> x = seqnet::randn<T>(3, 1, 3);
      const Tensor<T, 3> y = stream.feed(x);
      const auto want = other(x, {h, c});
      const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-13;
      CHECK(seqnet_test::max_abs_diff(y, want.first) <= tolerance);
      CHECK(seqnet_test::max_abs_diff(stream.h(), want.second.first) <= tolerance);
    }
  }
}
