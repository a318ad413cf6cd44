// A minimal program outside the seqnet tree: proves the exported target carries include paths,
// the C++17 requirement and Eigen.
#include <seqnet/seqnet.hpp>

#include <iostream>

int main() {
  seqnet::LSTM<float> lstm(100, 20, 2);
  auto [out, hc] = lstm(seqnet::rand<float>(10, 3, 100));
  const bool ok = seqnet::shape(out) == seqnet::Shape{10, 3, 20} && seqnet::shape(hc.first) == seqnet::Shape{2, 3, 20};
  std::cout << lstm << " -> " << seqnet::shape(out) << (ok ? " ok" : " WRONG") << "\n";
  return ok ? 0 : 1;
}
