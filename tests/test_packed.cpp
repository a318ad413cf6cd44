// Sequences of different lengths (PyTorch's packed sequences) beyond the golden numbers: the error
// texts of pack_padded_sequence, zero padding, and each sequence equal to running it alone.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::SequenceLengths;
using seqnet::Tensor;

/// Batch row `b` of a `[seq, batch, F]` tensor, first `length` steps, as `[length, 1, F]`.
template <typename T>
Tensor<T, 3> sequence(const Tensor<T, 3>& x, Index b, Index length) {
  Tensor<T, 3> one(length, 1, x.dimension(2));
  for (Index t = 0; t < length; ++t)
    for (Index f = 0; f < x.dimension(2); ++f) one(t, 0, f) = x(t, b, f);
  return one;
}

}  // namespace

TEST_CASE("sequence lengths are checked with pack_padded_sequence's texts", "[packed][errors]") {
  seqnet::LSTM<float> lstm(3, 4);
  const Tensor<float, 3> x = seqnet::randn<float>(5, 3, 3);
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(x, SequenceLengths{2, 5, 3}); }) ==
        "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
        "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
        "do not need ONNX exportability.");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(x, SequenceLengths{5, 3}); }) ==
        "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(x, SequenceLengths{5, 3, 0}); }) ==
        "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(x, SequenceLengths{3, -1, 5}.enforce_sorted(false)); }) ==
        "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(x, SequenceLengths{6, 3, 2}); }) ==
        "Expected every length to be at most the sequence length 5, got 6 at batch index 0");
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(Tensor<float, 2>(seqnet::randn<float>(5, 3)), SequenceLengths{5}); }) ==
        "sequence lengths need batched 3-D input, got unbatched 2-D input");
  // The module's own checks come first.
  CHECK(seqnet_test::message_of<seqnet::shape_error>([&] { lstm(Tensor<float, 3>(seqnet::randn<float>(5, 3, 2)), SequenceLengths{5, 3}); }) ==
        "input.size(-1) must be equal to input_size. Expected 3, got 2");
}

TEMPLATE_TEST_CASE("each packed sequence equals the sequence run alone", "[packed]", float, double) {
  using T = TestType;
  const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  seqnet::Generator generator(11);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(3, 4).num_layers(2).bidirectional(true), generator);
  seqnet::GRU<T> gru(seqnet::GRUOptions(3, 4).bidirectional(true), generator);
  const std::vector<Index> lengths{2, 6, 1, 4};
  const Tensor<T, 3> x = seqnet::randn<T>(6, 4, 3);
  // A padded position must not matter: fill them with garbage first.
  Tensor<T, 3> padded = x;
  for (Index b = 0; b < 4; ++b)
    for (Index t = lengths[static_cast<std::size_t>(b)]; t < 6; ++t)
      for (Index f = 0; f < 3; ++f) padded(t, b, f) = T(1e3);

  const auto [out, hc] = lstm(padded, SequenceLengths(lengths).enforce_sorted(false));
  const auto [gru_out, gru_h] = gru(padded, SequenceLengths(lengths).enforce_sorted(false));
  for (Index b = 0; b < 4; ++b) {
    const Index length = lengths[static_cast<std::size_t>(b)];
    INFO("batch row " << b << ", length " << length);
    const auto [alone, hc_alone] = lstm(sequence(x, b, length));
    const auto [gru_alone, gru_h_alone] = gru(sequence(x, b, length));
    double worst = 0.0, worst_gru = 0.0;
    for (Index t = 0; t < 6; ++t) {
      for (Index f = 0; f < 8; ++f) {
        if (t < length) {
          worst = std::max(worst, std::abs(double(out(t, b, f)) - double(alone(t, 0, f))));
          worst_gru = std::max(worst_gru, std::abs(double(gru_out(t, b, f)) - double(gru_alone(t, 0, f))));
        } else {
          CHECK(out(t, b, f) == T(0));
          CHECK(gru_out(t, b, f) == T(0));
        }
      }
    }
    for (Index k = 0; k < 4; ++k) {
      for (Index f = 0; f < 4; ++f) {
        worst = std::max(worst, std::abs(double(hc.first(k, b, f)) - double(hc_alone.first(k, 0, f))));
        worst = std::max(worst, std::abs(double(hc.second(k, b, f)) - double(hc_alone.second(k, 0, f))));
      }
    }
    for (Index k = 0; k < 2; ++k)
      for (Index f = 0; f < 4; ++f)
        worst_gru = std::max(worst_gru, std::abs(double(gru_h(k, b, f)) - double(gru_h_alone(k, 0, f))));
    CHECK(worst <= tolerance);
    CHECK(worst_gru <= tolerance);
  }
}

TEMPLATE_TEST_CASE("lengths in any order give the same rows as sorted lengths", "[packed]", float, double) {
  using T = TestType;
  seqnet::Generator generator(5);
  seqnet::RNN<T> rnn(seqnet::RNNOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true), generator);
  const Tensor<T, 3> x = seqnet::randn<T>(3, 5, 3);  // batch_first: [batch, seq, feature]
  const Tensor<T, 3> h0 = seqnet::randn<T>(4, 3, 4);
  // Rows reordered so the lengths are sorted; results must be the same rows, bit for bit.
  const std::vector<Index> order{1, 2, 0};
  Tensor<T, 3> x_sorted(3, 5, 3), h0_sorted(4, 3, 4);
  for (Index i = 0; i < 3; ++i) {
    x_sorted.template chip<0>(i) = x.template chip<0>(order[static_cast<std::size_t>(i)]);
    h0_sorted.template chip<1>(i) = h0.template chip<1>(order[static_cast<std::size_t>(i)]);
  }
  const auto [out, h_n] = rnn(x, SequenceLengths{2, 5, 3}.enforce_sorted(false), h0);
  const auto [out_sorted, h_n_sorted] = rnn(x_sorted, SequenceLengths{5, 3, 2}, h0_sorted);
  for (Index i = 0; i < 3; ++i) {
    const Index j = order[static_cast<std::size_t>(i)];
    CHECK(seqnet_test::identical(Tensor<T, 2>(out.template chip<0>(j)), Tensor<T, 2>(out_sorted.template chip<0>(i))));
    CHECK(seqnet_test::identical(Tensor<T, 2>(h_n.template chip<1>(j)), Tensor<T, 2>(h_n_sorted.template chip<1>(i))));
  }
}

TEST_CASE("LSTM takes a packed batch's states as {h0, c0} or as h0, c0", "[packed]") {
  seqnet::Generator generator(6);
  seqnet::LSTM<double> lstm(seqnet::LSTMOptions(3, 4).num_layers(2), generator);
  const Tensor<double, 3> x = seqnet::randn<double>(5, 3, 3);
  const Tensor<double, 3> h0 = seqnet::randn<double>(2, 3, 4), c0 = seqnet::randn<double>(2, 3, 4);
  const SequenceLengths lengths = SequenceLengths{2, 5, 3}.enforce_sorted(false);
  const auto [out, hc] = lstm(x, lengths, {h0, c0});
  const auto [out_separate, hc_separate] = lstm(x, lengths, h0, c0);  // the GPU modules' spelling too
  CHECK(seqnet_test::identical(out, out_separate));
  CHECK(seqnet_test::identical(hc.first, hc_separate.first));
  CHECK(seqnet_test::identical(hc.second, hc_separate.second));
  const auto [out_zero, hc_zero] = lstm(x, lengths);
  CHECK_FALSE(seqnet_test::identical(out, out_zero));  // the states were used
}
