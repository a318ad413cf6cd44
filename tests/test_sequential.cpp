// Sequential: children named "0", "1", ... (nested: "2.0.weight"), PyTorch's repr and indexing errors,
// a forward that runs any module with a tensor-to-tensor call (rank changes included), copies that own
// their modules, and the error when a module cannot be called.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <seqnet/cell.hpp>
#include <seqnet/linear.hpp>
#include <seqnet/sequential.hpp>
#include <seqnet/state_dict.hpp>

namespace {

using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;

/// y = 2x, at any rank: a module type Sequential has never heard of.
template <typename T>
struct Twice : seqnet::Module<T> {
  Twice() : seqnet::Module<T>("Twice") {}
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) const {
    return x * T(2);
  }
};

/// [N, C, L] -> [N, C * L]: changes the rank (nn.Flatten).
template <typename T>
struct Flatten : seqnet::Module<T> {
  Flatten() : seqnet::Module<T>("Flatten") {}
  std::string extra_repr() const override { return "start_dim=1, end_dim=-1"; }
  Tensor<T, 2> operator()(const Tensor<T, 3>& x) const {
    const Eigen::array<Index, 2> dims{x.dimension(0), x.dimension(1) * x.dimension(2)};
    return x.reshape(dims);
  }
};

/// Counts its calls: a module whose call is not const.
template <typename T>
struct Counter : seqnet::Module<T> {
  Counter() : seqnet::Module<T>("Counter") {}
  template <int R>
  Tensor<T, R> operator()(const Tensor<T, R>& x) {
    ++calls;
    return x;
  }
  int calls = 0;
};

std::vector<std::string> keys_of(const seqnet::Sequential<float>& seq) { return seqnet::state_dict(seq).keys(); }

}  // namespace

TEST_CASE("Sequential names its modules by index, nested ones by path", "[sequential]") {
  seqnet::Sequential<float> seq(seqnet::Linear<float>(3, 4), Twice<float>(),
                                seqnet::Sequential<float>(seqnet::Linear<float>(4, 2), Twice<float>()));
  CHECK(seq.size() == 3);
  CHECK(keys_of(seq) == std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias"});
  CHECK(seq.repr() ==
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): Twice()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=2, bias=True)\n"
        "    (1): Twice()\n"
        "  )\n"
        ")");
  CHECK(seqnet::Sequential<float>().repr() == "Sequential()");
  CHECK(seq[0].type_name() == "Linear");
  CHECK(seq.get<seqnet::Linear<float>>(0).options().out_features() == 4);
  CHECK_THROWS_WITH(seq[3], "index 3 is out of range");
  CHECK_THROWS_AS(seq[3], seqnet::index_error);
  CHECK_THROWS_WITH(seq.get<Twice<float>>(0), "Sequential: module 0 is a Linear, not the type asked for");

  // append returns the stored module; its parameters are the Sequential's.
  auto& head = seq.append(seqnet::LSTMCell<float>(2, 3));
  CHECK(&head == &seq.get<seqnet::LSTMCell<float>>(3));
  CHECK(keys_of(seq).back() == "3.bias_hh");
}

TEST_CASE("Sequential's forward runs each module on the previous result", "[sequential]") {
  seqnet::Linear<double> first(3, 4), second(4, 2);
  seqnet::Sequential<double> seq(first, Twice<double>(), seqnet::Sequential<double>(second, Twice<double>()));
  const auto x = seqnet::randn<double>(5, 3);
  const Tensor<double, 2> doubled = first(x) * 2.0;
  const Tensor<double, 2> expected = second(doubled) * 2.0;
  const Tensor<double, 2> y = seq(x);
  REQUIRE(seqnet::shape(y) == Shape{5, 2});
  for (Index i = 0; i < y.size(); ++i) CHECK(y.data()[i] == expected.data()[i]);
  const Tensor<double, 2> from_const = std::as_const(seq)(x);
  for (Index i = 0; i < y.size(); ++i) CHECK(from_const.data()[i] == expected.data()[i]);
  // Any rank the modules take: [2, 5, 3] through Linear.
  const auto x3 = seqnet::randn<double>(2, 5, 3);
  CHECK(seqnet::shape(seq(x3)) == Shape{2, 5, 2});
  // An empty Sequential is the identity, as in PyTorch.
  const Tensor<double, 2> same = seqnet::Sequential<double>()(x);
  for (Index i = 0; i < x.size(); ++i) CHECK(same.data()[i] == x.data()[i]);
}

TEST_CASE("Sequential passes rank changes on; forward<Out> names the result's rank", "[sequential]") {
  seqnet::Sequential<float> seq(Twice<float>(), Flatten<float>(), seqnet::Linear<float>(6, 1));
  const auto x = seqnet::randn<float>(4, 2, 3);
  const Tensor<float, 2> y = seq.forward<2>(x);
  CHECK(seqnet::shape(y) == Shape{4, 1});
  CHECK_THROWS_WITH(seq(x), "Sequential: the last module returned a rank-2 tensor, not rank 3 (call forward<2>(input))");
  CHECK_THROWS_AS(seq(x), seqnet::shape_error);
  // Flatten has no call for rank 2.
  CHECK_THROWS_WITH(seq(seqnet::randn<float>(4, 6)),
                    "Sequential: module 1 (Flatten) has no call taking a rank-2 tensor and returning a tensor");
}

TEST_CASE("a module that cannot be called can sit in a Sequential, which then throws when called", "[sequential]") {
  seqnet::Sequential<float> seq(seqnet::Linear<float>(3, 4), seqnet::LSTMCell<float>(4, 4));
  CHECK(keys_of(seq).size() == 6);
  CHECK_THROWS_WITH(seq(seqnet::randn<float>(2, 3)),
                    "Sequential: module 1 (LSTMCell) has no call taking a rank-2 tensor and returning a tensor");
  CHECK_THROWS_AS(seq(seqnet::randn<float>(2, 3)), seqnet::value_error);
  // A module whose call is not const runs from a non-const Sequential only.
  seqnet::Sequential<float> counting{Counter<float>()};
  (void)counting(seqnet::randn<float>(2, 3));
  CHECK(counting.get<Counter<float>>(0).calls == 1);
  CHECK_THROWS_WITH(std::as_const(counting)(seqnet::randn<float>(2, 3)),
                    "Sequential: module 0 (Counter) has no const call taking a rank-2 tensor and returning a tensor");
}

TEST_CASE("a copied Sequential owns copies of its modules; a moved one keeps them", "[sequential]") {
  seqnet::Sequential<float> a(seqnet::Linear<float>(2, 2));
  seqnet::Sequential<float> b = a;
  b.parameter("0.bias").data()[0] = 5.0f;
  CHECK(a.parameter("0.bias").data()[0] != 5.0f);
  CHECK(std::as_const(b).parameter("0.bias").data() == std::as_const(b).get<seqnet::Linear<float>>(0).parameter("bias").data());
  const float* stored = std::as_const(b).get<seqnet::Linear<float>>(0).parameter("bias").data();
  seqnet::Sequential<float> c = std::move(b);
  CHECK(std::as_const(c).parameter("0.bias").data() == stored);
  a = c;
  CHECK(std::as_const(a).parameter("0.bias").data()[0] == 5.0f);
  CHECK(std::as_const(a).parameter("0.bias").data() != stored);
  // A single Sequential argument copies rather than nests.
  seqnet::Sequential<float> d(c);
  CHECK(keys_of(d) == std::vector<std::string>{"0.weight", "0.bias"});
  // train/eval reach the modules.
  d.eval();
  CHECK_FALSE(d[0].is_training());
}
