// seqnet::set_flush_denormal (torch.set_flush_denormal): the calling thread flushes denormals, and
// seqnet's worker threads follow the mode of the thread that made the call.
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Tensor;

/// Restores gradual underflow and one thread when a test ends, passed or not.
struct Restore {
  ~Restore() {
    seqnet::set_flush_denormal(false);
    seqnet::set_num_threads(1);
  }
};

}  // namespace

TEST_CASE("set_flush_denormal turns denormals into zeros on every thread of a call", "[denormals][threads]") {
  Restore restore;
  if (!seqnet::set_flush_denormal(false)) {
    CHECK_FALSE(seqnet::set_flush_denormal(true));
    return;  // no SSE2: nothing to flush, as torch.set_flush_denormal returns False
  }
  CHECK_FALSE(seqnet::flush_denormal());
  volatile float tiny = std::numeric_limits<float>::denorm_min() * 64.0f;
  volatile float one = 1.0f;
  CHECK(tiny * one != 0.0f);
  REQUIRE(seqnet::set_flush_denormal(true));
  CHECK(seqnet::flush_denormal());
  CHECK(tiny * one == 0.0f);

  // Denormal inputs read as zero. A relu RNN with no bias and positive weights turns them into denormal
  // outputs, so every thread that missed the mode would leave nonzeros in its share of the columns and
  // rows (the sizes split every path on 3 threads; see tests/test_threads.cpp).
  seqnet::RNN<float> rnn(seqnet::RNNOptions(48, 160).nonlinearity(seqnet::Nonlinearity::Relu).bias(false));
  std::fill_n(rnn.flat_parameters(), rnn.num_parameters(), 1.0f / 64.0f);
  Tensor<float, 3> x(6, 24, 48);
  x.setConstant(std::numeric_limits<float>::min() / 4.0f);
  Tensor<float, 3> zeros(6, 24, 160);
  zeros.setZero();
  for (int threads : {1, 3}) {
    INFO(threads << " threads");
    seqnet::set_num_threads(threads);
    CHECK(seqnet_test::identical(rnn(x).first, zeros));
  }
  seqnet::set_flush_denormal(false);
  for (int threads : {1, 3}) {
    seqnet::set_num_threads(threads);
    const Tensor<float, 3> out = rnn(x).first;
    INFO(threads << " threads, gradual underflow: out[0] " << out.data()[0]);
    CHECK(out.data()[0] > 0.0f);
    CHECK(out.data()[out.size() - 1] > 0.0f);
  }
}
