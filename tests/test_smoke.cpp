#include <catch2/catch.hpp>

#include <seqnet/seqnet.hpp>

TEST_CASE("LSTM returns PyTorch's shapes for the tutorial example", "[smoke]") {
  seqnet::LSTM<float> lstm(100, 20, 4);
  auto [out, hc] = lstm(seqnet::rand<float>(10, 3, 100), {seqnet::zeros<float>(4, 3, 20), seqnet::zeros<float>(4, 3, 20)});
  CHECK(seqnet::shape(out) == seqnet::Shape{10, 3, 20});
  CHECK(seqnet::shape(hc.first) == seqnet::Shape{4, 3, 20});
  CHECK(seqnet::shape(hc.second) == seqnet::Shape{4, 3, 20});
}
