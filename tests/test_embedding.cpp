// SPDX-License-Identifier: MIT
// Embedding<T>: golden lookups against torch.nn.Embedding (ids of rank 0-3, padding_idx, from_pretrained),
// reprs, parameters, the N(0, 1) initialisation with its zeroed padding row, and the exact error texts
// (PyTorch's own texts, checked with PyTorch 1.13; the id error adds the id, its position and the range).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <seqnet/embedding.hpp>

#include "layers_golden.hpp"
#include "tensor_compare.hpp"
#include "tensor_compare.hpp"

namespace {

using seqnet::Embedding;
using seqnet::EmbeddingOptions;
using seqnet::Generator;
using seqnet::Index;
using seqnet::Shape;
using seqnet::Tensor;

using seqnet_test::message_of;

std::optional<Index> padding_option(const golden::Case& c) {
  if (c.option("padding_idx") == "none") return std::nullopt;
  return c.int_option("padding_idx");
}

template <typename T, int R>
void run_lookup(const Embedding<T>& embedding, const golden::Case& c, layers_golden::Stats& stats) {
  const auto ids = layers_golden::to_tensor<std::int64_t, R>(*c.find_input("ids"));
  const Tensor<T, R + 1> y = embedding(ids);
  layers_golden::compare(y, c.find_output("y"), stats);
  // A lookup copies rows: the output must equal PyTorch's bit for bit.
  CHECK(seqnet_test::max_abs_diff(y, layers_golden::to_tensor<T, R + 1>(*c.find_output("y"))) == 0.0);
}

template <typename T>
void check_embedding_golden() {
  layers_golden::Stats stats;
  const auto cases = layers_golden::cases_of<T>("Embedding");
  for (const golden::Case* c : cases) {
    INFO("case " << c->name);
    REQUIRE(c->params.size() == 1);
    const golden::Tensor& stored = c->params[0];
    REQUIRE(stored.name == "weight");
    const Tensor<T, 2> weight = layers_golden::to_tensor<T, 2>(stored);
    const std::optional<Index> padding = padding_option(*c);
    const Index n = c->int_option("num_embeddings"), d = c->int_option("embedding_dim");

    std::optional<Embedding<T>> embedding;
    if (c->bool_option("from_pretrained")) {
      embedding.emplace(Embedding<T>::from_pretrained(weight, c->bool_option("freeze"), padding));
      CHECK(embedding->frozen() == c->bool_option("freeze"));
    } else {
      embedding.emplace(n, d, padding);
      CHECK_FALSE(embedding->frozen());
      // PyTorch's freshly initialised table has a zero padding row, and so does seqnet's.
      if (embedding->padding_idx()) {
        const Index p = *embedding->padding_idx();
        for (Index k = 0; k < d; ++k) {
          CHECK(weight(p, k) == T(0));
          CHECK(embedding->weight().data()[p * d + k] == T(0));
        }
      }
      embedding->weight().assign(weight);
    }
    CHECK(embedding->repr() == c->repr);
    CHECK(embedding->num_embeddings() == n);
    CHECK(embedding->embedding_dim() == d);
    REQUIRE(embedding->weight().dimensions().str() == layers_golden::shape_str(stored.shape));
    CHECK(seqnet_test::max_abs_diff(Tensor<T, 2>(embedding->weight().template tensor<2>()), weight) == 0.0);

    switch (c->find_input("ids")->rank()) {
      case 0: run_lookup<T, 0>(*embedding, *c, stats); break;
      case 1: run_lookup<T, 1>(*embedding, *c, stats); break;
      case 2: run_lookup<T, 2>(*embedding, *c, stats); break;
      case 3: run_lookup<T, 3>(*embedding, *c, stats); break;
      default: FAIL("unexpected ids rank");
    }
    ++stats.cases;
  }
  layers_golden::report<T>("Embedding", stats, cases.size());
}

}  // namespace

TEST_CASE("embedding: float64 lookups match torch.nn.Embedding", "[embedding][golden]") {
  check_embedding_golden<double>();
}
TEST_CASE("embedding: float32 lookups match torch.nn.Embedding", "[embedding][golden]") {
  check_embedding_golden<float>();
}

TEST_CASE("embedding: repr is PyTorch's, with padding_idx normalised", "[embedding]") {
  CHECK(Embedding<float>(2, 5).repr() == "Embedding(2, 5)");
  CHECK(Embedding<float>(10, 3, 0).repr() == "Embedding(10, 3, padding_idx=0)");
  CHECK(Embedding<double>(10, 3, -1).repr() == "Embedding(10, 3, padding_idx=9)");
  CHECK(Embedding<float>(4, 2, -4).repr() == "Embedding(4, 2, padding_idx=0)");
  CHECK(Embedding<float>(EmbeddingOptions(6, 4).padding_idx(3)).repr() == "Embedding(6, 4, padding_idx=3)");
  CHECK(Embedding<float>(0, 3).repr() == "Embedding(0, 3)");
  std::ostringstream printed;
  printed << Embedding<float>(2, 5);
  CHECK(printed.str() == "Embedding(2, 5)");

  const Embedding<float> negative(10, 3, -2);
  REQUIRE(negative.padding_idx().has_value());
  CHECK(*negative.padding_idx() == 8);
  CHECK(*negative.options().padding_idx() == 8);
  CHECK_FALSE(Embedding<float>(10, 3).padding_idx().has_value());
}

TEST_CASE("embedding: one parameter 'weight' [num_embeddings, embedding_dim]", "[embedding]") {
  Embedding<float> embedding(7, 3);
  const auto named = embedding.named_parameters();
  REQUIRE(named.size() == 1);
  CHECK(named[0].first == "weight");
  CHECK(named[0].second.dimensions() == Shape{7, 3});
  CHECK(embedding.num_parameters() == 21);
  CHECK(embedding.weight().data() == embedding.flat_parameters());
  CHECK_THROWS_MATCHES(embedding.parameter("bias"), seqnet::key_error,
                       Catch::Matchers::Message("'Embedding' object has no attribute 'bias'"));
}

TEST_CASE("embedding: lookups of every rank and integer type return weight rows", "[embedding]") {
  Embedding<double> embedding(5, 3);
  Tensor<double, 2> weight(5, 3);
  for (Index i = 0; i < weight.size(); ++i) weight.data()[i] = static_cast<double>(i);
  embedding.weight().assign(weight);

  // The seed's section 1.1: word_to_ix = {'hello': 0, 'world': 1}; embeds(torch.tensor([word_to_ix['hello']])).
  std::map<std::string, std::int64_t> word_to_ix{{"hello", 0}, {"world", 1}};
  const Tensor<double, 2> hello = embedding({word_to_ix["hello"]});
  CHECK(seqnet::shape(hello) == Shape{1, 3});
  CHECK((hello(0, 0) == 0.0 && hello(0, 1) == 1.0 && hello(0, 2) == 2.0));

  Tensor<std::int64_t, 0> scalar;
  scalar() = 4;
  const Tensor<double, 1> row = embedding(scalar);
  CHECK(seqnet::shape(row) == Shape{3});
  CHECK(row(2) == 14.0);

  Tensor<int, 2> ids(2, 3);  // [seq, batch] of int32 ids
  ids.setValues({{0, 1, 2}, {4, 4, 3}});
  const Tensor<double, 3> out = embedding.forward(ids);
  CHECK(seqnet::shape(out) == Shape{2, 3, 3});
  for (Index s = 0; s < 2; ++s)
    for (Index b = 0; b < 3; ++b)
      for (Index k = 0; k < 3; ++k) CHECK(out(s, b, k) == weight(ids(s, b), k));

  Tensor<std::uint8_t, 1> bytes(2);
  bytes.setValues({3, 1});
  CHECK(embedding(bytes)(1, 0) == 3.0);

  CHECK(seqnet::shape(embedding(Tensor<std::int64_t, 1>(0))) == Shape{0, 3});
  CHECK(seqnet::shape(embedding(Tensor<std::int64_t, 2>(2, 0))) == Shape{2, 0, 3});
  CHECK(seqnet::shape(embedding(std::vector<std::int64_t>{})) == Shape{0, 3});
  CHECK(seqnet::shape(Embedding<float>(3, 0)({1, 2})) == Shape{2, 0});
}

TEST_CASE("embedding: an id out of range names the id, its position and the range", "[embedding]") {
  const Embedding<float> embedding(5, 2);
  Tensor<std::int64_t, 2> ids(4, 2);
  ids.setZero();
  ids(3, 1) = 7;
  CHECK_THROWS_MATCHES(embedding(ids), seqnet::index_error,
                       Catch::Matchers::Message("index out of range in self: id 7 at position [3, 1] is not in [0, 5)"));
  CHECK_THROWS_MATCHES(embedding(ids), std::invalid_argument,
                       Catch::Matchers::Message("index out of range in self: id 7 at position [3, 1] is not in [0, 5)"));
  ids(3, 1) = 0;
  ids(1, 0) = -1;
  CHECK(message_of([&] { embedding(ids); }) == "index out of range in self: id -1 at position [1, 0] is not in [0, 5)");
  ids(1, 0) = 5;
  CHECK(message_of([&] { embedding(ids); }) == "index out of range in self: id 5 at position [1, 0] is not in [0, 5)");

  CHECK(message_of([&] { embedding({0, 1, 2, 3, 4, 9}); }) ==
        "index out of range in self: id 9 at position [5] is not in [0, 5)");
  Tensor<std::int32_t, 0> scalar;
  scalar() = -3;
  CHECK(message_of([&] { embedding(scalar); }) == "index out of range in self: id -3 at position [] is not in [0, 5)");
  Tensor<std::uint64_t, 3> large(1, 2, 1);
  large.setZero();
  large(0, 1, 0) = 18446744073709551615ULL;
  CHECK(message_of([&] { embedding(large); }) ==
        "index out of range in self: id 18446744073709551615 at position [0, 1, 0] is not in [0, 5)");
  Tensor<std::int8_t, 1> small(1);
  small(0) = 5;
  CHECK(message_of([&] { embedding(small); }) == "index out of range in self: id 5 at position [0] is not in [0, 5)");
  CHECK(message_of([&] { Embedding<float>(0, 3)({0}); }) ==
        "index out of range in self: id 0 at position [0] is not in [0, 0)");
}

TEST_CASE("embedding: invalid sizes and padding_idx raise PyTorch's messages", "[embedding]") {
  const std::string padding = "Padding_idx must be within num_embeddings";
  CHECK_THROWS_MATCHES(Embedding<float>(10, 3, 10), seqnet::value_error, Catch::Matchers::Message(padding));
  CHECK_THROWS_MATCHES(Embedding<float>(10, 3, 11), seqnet::value_error, Catch::Matchers::Message(padding));
  CHECK_THROWS_MATCHES(Embedding<float>(10, 3, -11), seqnet::value_error, Catch::Matchers::Message(padding));
  CHECK(message_of([] { Embedding<float>(0, 3, 0); }) == padding);
  // Found by fuzz_module_forward (regression input tests/fuzz/module_forward/embedding_int64_min_padding.bin):
  // -num_embeddings overflowed for INT64_MIN, so the padding check passed and another message came.
  CHECK(message_of([] { Embedding<float>(std::numeric_limits<Index>::min(), 3, -1); }) == padding);
  CHECK(message_of([] { Embedding<float>::from_pretrained(seqnet::zeros<float>(3, 2), true, 3); }) == padding);
  CHECK(message_of([] { Embedding<float>::from_pretrained(seqnet::zeros<float>(3, 2), true, -4); }) == padding);
  CHECK_THROWS_MATCHES(Embedding<float>(-1, 3), seqnet::value_error,
                       Catch::Matchers::Message("Trying to create tensor with negative dimension -1: [-1, 3]"));
  CHECK_THROWS_MATCHES(Embedding<float>(3, -1), seqnet::value_error,
                       Catch::Matchers::Message("Trying to create tensor with negative dimension -1: [3, -1]"));
  CHECK_THROWS_AS(Embedding<float>(Index{1} << 40, Index{1} << 20), seqnet::value_error);
}

TEST_CASE("embedding: weight starts as N(0, 1) draws with the padding row zeroed", "[embedding]") {
  Generator generator(11);
  const Embedding<double> embedding(1000, 50, 17, generator);
  const auto w = embedding.weight().flat();
  double sum = 0.0, squares = 0.0;
  Index zeros = 0;
  for (Index i = 0; i < w.size(); ++i) {
    sum += w(i);
    squares += w(i) * w(i);
    zeros += w(i) == 0.0;
  }
  const double count = static_cast<double>(w.size() - 50);  // the padding row is not a draw
  const double mean = sum / count;
  const double std_dev = std::sqrt(squares / count - mean * mean);
  CHECK(std::fabs(mean) < 0.025);            // standard error 0.0045
  CHECK(std::fabs(std_dev - 1.0) < 0.02);    // standard error 0.0032
  CHECK(zeros == 50);
  for (Index k = 0; k < 50; ++k) CHECK(w(17 * 50 + k) == 0.0);

  // The draws are generator.normal() in row-major order (the padding row's draws are overwritten).
  Generator replay(5);
  const Embedding<float> small(3, 4, -1, replay);
  Generator expected(5);
  for (Index i = 0; i < 12; ++i) {
    const auto value = static_cast<float>(expected.normal());
    CHECK(small.flat_parameters()[i] == (i >= 8 ? 0.0f : value));
  }

  Embedding<float> reset(4, 2, 1);
  Tensor<float, 2> threes(4, 2);
  threes.setConstant(3.0f);
  reset.weight().assign(threes);
  reset.reset_parameters(generator);
  CHECK(reset.weight().data()[2] == 0.0f);
  CHECK(reset.weight().data()[3] == 0.0f);
  CHECK(reset.weight().data()[0] != 3.0f);
}

TEST_CASE("embedding: from_pretrained copies the table, keeps the padding row, draws nothing", "[embedding]") {
  Tensor<float, 2> table(3, 2);
  table.setValues({{0.5f, -1.0f}, {2.0f, 3.0f}, {-4.0f, 0.25f}});
  const Generator before = seqnet::default_generator();
  const auto frozen = Embedding<float>::from_pretrained(table);
  Generator after = seqnet::default_generator();
  CHECK(Generator(before).uniform01() == after.uniform01());  // the default generator did not move
  CHECK(frozen.repr() == "Embedding(3, 2)");
  CHECK(frozen.frozen());
  CHECK(seqnet_test::identical(frozen({0, 1, 2}), table));

  const auto padded = Embedding<float>::from_pretrained(table, false, -2);
  CHECK(padded.repr() == "Embedding(3, 2, padding_idx=1)");
  CHECK_FALSE(padded.frozen());
  CHECK(padded({1})(0, 0) == 2.0f);  // PyTorch leaves the given padding row as it is
  table(0, 0) = 9.0f;
  CHECK(frozen({0})(0, 0) == 0.5f);  // a copy, not a view
}
