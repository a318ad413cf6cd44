// state_dict / load_state_dict: names, order, copies, strict and non-strict loading with PyTorch's exact
// messages (printed by PyTorch 1.13's load_state_dict and hard-coded here), all-or-nothing loading, scalar
// conversion, and nested models built with prefixed/join.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <seqnet/cell.hpp>
#include <seqnet/rnn.hpp>
#include <seqnet/state_dict.hpp>

namespace {

using seqnet::Shape;

/// Every parameter's values, flattened in named_parameters() order (to prove a module unchanged).
template <typename M>
std::vector<double> snapshot(const M& module) {
  std::vector<double> out;
  for (const auto& [name, p] : module.named_parameters())
    for (seqnet::Index i = 0; i < p.size(); ++i) out.push_back(static_cast<double>(p.data()[i]));
  return out;
}

/// A user-written leaf module: a Linear head kept in plain vectors, exposing PyTorch's names. It proves
/// that anything with named_parameters() works, not just seqnet's own modules.
struct Head {
  std::vector<float> weight = std::vector<float>(16, 0.5f);
  std::vector<float> bias = std::vector<float>(1, 0.25f);

  seqnet::NamedParameters<float> named_parameters() {
    return {{"weight", {weight.data(), Shape{1, 16}}}, {"bias", {bias.data(), Shape{1}}}};
  }
  seqnet::NamedParameters<const float> named_parameters() const {
    return {{"weight", {weight.data(), Shape{1, 16}}}, {"bias", {bias.data(), Shape{1}}}};
  }
};

/// The seed's RegLSTM layout: rnn = LSTM(4, 16, 2), reg = Sequential(Linear(16, 1)).
struct RegModel {
  seqnet::LSTM<float> rnn{seqnet::LSTMOptions(4, 16).num_layers(2)};
  Head head;

  std::string type_name() const { return "RegLSTM"; }
  auto named_parameters() { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", head)); }
  auto named_parameters() const { return seqnet::join(seqnet::prefixed("rnn", rnn), seqnet::prefixed("reg.0", head)); }
};

}  // namespace

TEST_CASE("state_dict copies every parameter in named_parameters order", "[state_dict]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(3, 5).num_layers(2).bidirectional(true).proj_size(2));
  const auto dict = seqnet::state_dict(lstm);
  const auto named = lstm.named_parameters();
  REQUIRE(dict.size() == named.size());
  std::size_t i = 0;
  for (const auto& [name, tensor] : dict) {
    CHECK(name == named[i].first);
    CHECK(tensor.shape == named[i].second.dimensions());
    REQUIRE(static_cast<seqnet::Index>(tensor.values.size()) == named[i].second.size());
    CHECK(std::equal(tensor.values.begin(), tensor.values.end(), named[i].second.data()));
    ++i;
  }
  CHECK(dict.keys().front() == "weight_ih_l0");
  CHECK(dict.keys().back() == "weight_hr_l1_reverse");

  // A copy: changing the dict leaves the module alone.
  auto copy = dict;
  copy.at("bias_ih_l0").values[0] += 1.0f;
  CHECK(lstm.parameter("bias_ih_l0").data()[0] == dict.at("bias_ih_l0").values[0]);
}

TEST_CASE("state_dict of cells uses the cells' unsuffixed names", "[state_dict]") {
  seqnet::LSTMCell<double> cell(seqnet::LSTMCellOptions(3, 4));
  CHECK(seqnet::state_dict(cell).keys() == std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  seqnet::RNNCell<float> rnn_cell(seqnet::RNNCellOptions(3, 4).bias(false));
  CHECK(seqnet::state_dict(rnn_cell).keys() == std::vector<std::string>{"weight_ih", "weight_hh"});
}

TEST_CASE("load_state_dict copies a whole state dict", "[state_dict]") {
  seqnet::Generator g1(1), g2(2);
  seqnet::RNN<float> a(seqnet::RNNOptions(4, 6).num_layers(2), g1);
  seqnet::RNN<float> b(seqnet::RNNOptions(4, 6).num_layers(2), g2);
  REQUIRE(snapshot(a) != snapshot(b));
  const seqnet::IncompatibleKeys keys = seqnet::load_state_dict(b, seqnet::state_dict(a));
  CHECK(keys.empty());
  CHECK(keys.str() == "<All keys matched successfully>");
  CHECK(snapshot(a) == snapshot(b));
}

TEST_CASE("load_state_dict converts the scalar type, as torch's copy_ does", "[state_dict]") {
  seqnet::LSTM<float> source(seqnet::LSTMOptions(3, 4));
  seqnet::LSTM<double> target(seqnet::LSTMOptions(3, 4));
  seqnet::load_state_dict(target, seqnet::state_dict(source));
  CHECK(snapshot(target) == snapshot(source));  // float -> double is exact
}

TEST_CASE("strict loading reports missing, unexpected and mis-sized keys in PyTorch's words", "[state_dict]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(10, 20));
  auto dict = seqnet::state_dict(seqnet::LSTM<float>(seqnet::LSTMOptions(10, 20)));
  dict.erase("bias_hh_l0");
  dict.erase("weight_hh_l0");
  dict.insert("foo", Shape{1}, {0.0f});
  dict.insert("bar.x", Shape{1}, {0.0f});
  dict.at("weight_ih_l0") = {Shape{3, 3}, std::vector<float>(9, 1.0f)};
  const auto before = snapshot(lstm);

  // PyTorch 1.13: a.load_state_dict(sd) with the same edits.
  const std::string expected =
      "Error(s) in loading state_dict for LSTM:\n"
      "\tMissing key(s) in state_dict: \"weight_hh_l0\", \"bias_hh_l0\". \n"
      "\tUnexpected key(s) in state_dict: \"foo\", \"bar.x\". \n"
      "\tsize mismatch for weight_ih_l0: copying a param with shape torch.Size([3, 3]) from checkpoint, the shape "
      "in current model is torch.Size([80, 10]).";
  CHECK_THROWS_WITH(seqnet::load_state_dict(lstm, dict), expected);
  CHECK_THROWS_AS(seqnet::load_state_dict(lstm, dict), seqnet::state_dict_error);
  CHECK_THROWS_AS(seqnet::load_state_dict(lstm, dict), std::invalid_argument);
  CHECK(snapshot(lstm) == before);  // bias_ih_l0 matched, but nothing is written when the load fails

  // Not strict: the size mismatch alone still raises, as in PyTorch.
  CHECK_THROWS_WITH(seqnet::load_state_dict(lstm, dict, false),
                    "Error(s) in loading state_dict for LSTM:\n"
                    "\tsize mismatch for weight_ih_l0: copying a param with shape torch.Size([3, 3]) from checkpoint, "
                    "the shape in current model is torch.Size([80, 10]).");
  CHECK(snapshot(lstm) == before);
}

TEST_CASE("size mismatch between two LSTMs: PyTorch's message", "[state_dict]") {
  seqnet::LSTM<float> small(seqnet::LSTMOptions(10, 20));
  const seqnet::LSTM<float> large(seqnet::LSTMOptions(100, 20));
  CHECK_THROWS_WITH(seqnet::load_state_dict(small, seqnet::state_dict(large)),
                    "Error(s) in loading state_dict for LSTM:\n"
                    "\tsize mismatch for weight_ih_l0: copying a param with shape torch.Size([80, 100]) from "
                    "checkpoint, the shape in current model is torch.Size([80, 10]).");
}

TEST_CASE("non-strict loading returns the missing and unexpected keys and loads the rest", "[state_dict]") {
  seqnet::Generator g1(1), g2(2);
  seqnet::LSTM<float> source(seqnet::LSTMOptions(2, 3), g1);
  seqnet::LSTM<float> target(seqnet::LSTMOptions(2, 3), g2);
  auto dict = seqnet::state_dict(source);
  dict.erase("bias_hh_l0");
  dict.insert("x", Shape{1}, {0.0f});
  const auto old_bias = target.parameter("bias_hh_l0").flat().eval();

  CHECK_THROWS_AS(seqnet::load_state_dict(target, dict), seqnet::state_dict_error);
  const auto keys = seqnet::load_state_dict(target, dict, false);
  CHECK(keys.missing_keys == std::vector<std::string>{"bias_hh_l0"});
  CHECK(keys.unexpected_keys == std::vector<std::string>{"x"});
  CHECK(keys.str() == "_IncompatibleKeys(missing_keys=['bias_hh_l0'], unexpected_keys=['x'])");  // PyTorch's repr
  CHECK(target.parameter("weight_hh_l0").flat() == source.parameter("weight_hh_l0").flat());
  CHECK(target.parameter("bias_hh_l0").flat() == old_bias);
}

TEST_CASE("nested models: prefixed/join give PyTorch's state_dict names", "[state_dict]") {
  RegModel model;
  // PyTorch: list(RegLSTM().state_dict()) with rnn = nn.LSTM(4, 16, 2), reg = nn.Sequential(nn.Linear(16, 1)).
  const std::vector<std::string> torch_keys{
      "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_ih_l1",
      "rnn.weight_hh_l1", "rnn.bias_ih_l1",   "rnn.bias_hh_l1", "reg.0.weight",    "reg.0.bias"};
  const auto dict = seqnet::state_dict(model);
  CHECK(dict.keys() == torch_keys);
  CHECK(dict.at("rnn.weight_ih_l0").shape == Shape{64, 4});
  CHECK(dict.at("reg.0.weight").shape == Shape{1, 16});
  CHECK(dict.at("reg.0.bias").values == std::vector<float>{0.25f});

  // Non-const join gives writable views, const join read-only ones.
  static_assert(std::is_same_v<decltype(model.named_parameters()), seqnet::NamedParameters<float>>);
  static_assert(std::is_same_v<decltype(std::as_const(model).named_parameters()),
                               seqnet::NamedParameters<const float>>);
  CHECK(seqnet::state_dict(std::as_const(model)).keys() == torch_keys);

  // Round trip into a fresh model.
  RegModel other;
  other.head.bias[0] = -1.0f;
  seqnet::load_state_dict(other, dict);
  CHECK(snapshot(other) == snapshot(model));
}

TEST_CASE("nested models: strict errors name the model and the full keys", "[state_dict]") {
  RegModel model;
  auto dict = seqnet::state_dict(model);
  dict.insert("zzz", Shape{1}, {0.0f});
  dict.insert("rnn.extra", Shape{1}, {0.0f});
  dict.insert("reg.1.weight", Shape{1}, {0.0f});
  dict.erase("reg.0.bias");
  // PyTorch 1.13, the same edits on RegLSTM().state_dict().
  CHECK_THROWS_WITH(seqnet::load_state_dict(model, dict),
                    "Error(s) in loading state_dict for RegLSTM:\n"
                    "\tMissing key(s) in state_dict: \"reg.0.bias\". \n"
                    "\tUnexpected key(s) in state_dict: \"zzz\", \"rnn.extra\", \"reg.1.weight\". ");
}

TEST_CASE("join rejects duplicate names; loading rejects a model with duplicate names", "[state_dict]") {
  seqnet::LSTM<float> a(seqnet::LSTMOptions(2, 3)), b(seqnet::LSTMOptions(2, 3));
  CHECK_THROWS_WITH(seqnet::join(seqnet::prefixed("rnn", a), seqnet::prefixed("rnn", b)),
                    "duplicate parameter name 'rnn.weight_ih_l0'");
  CHECK_THROWS_AS(seqnet::join(a, b), seqnet::key_error);
  CHECK(seqnet::join(a, seqnet::prefixed("b", b)).size() == 8);
  const auto mixed = seqnet::join(a.named_parameters(), seqnet::prefixed("b", std::as_const(b)));
  static_assert(std::is_same_v<decltype(mixed), const seqnet::NamedParameters<const float>>);  // one read-only part
  CHECK(mixed.back().first == "b.bias_hh_l0");
  CHECK(mixed.back().second.data() == b.parameter("bias_hh_l0").data());

  struct Twice {
    seqnet::LSTM<float> lstm{seqnet::LSTMOptions(2, 3)};
    seqnet::NamedParameters<float> named_parameters() {
      auto named = lstm.named_parameters();
      named.push_back(named.front());
      return named;
    }
  } twice;
  CHECK_THROWS_AS(seqnet::load_state_dict(twice, seqnet::state_dict(a)), seqnet::key_error);
  CHECK_THROWS_AS(seqnet::state_dict(twice), seqnet::key_error);
}

TEST_CASE("StateDict keeps order and unique names", "[state_dict]") {
  seqnet::StateDict<double> dict;
  dict.insert("b", Shape{2}, {1.0, 2.0});
  dict.insert("a", Shape{}, {3.0});
  CHECK(dict.keys() == std::vector<std::string>{"b", "a"});
  CHECK_THROWS_WITH(dict.insert("a", Shape{1}, {0.0}), "duplicate key 'a' in state dict");
  CHECK_THROWS_AS(dict.insert("c", Shape{2, 2}, {0.0}), seqnet::shape_error);
  CHECK_THROWS_WITH(dict.at("zz"), "no key 'zz' in state dict");
  CHECK(dict.erase("b"));
  CHECK_FALSE(dict.erase("b"));
  CHECK(dict.keys() == std::vector<std::string>{"a"});
  CHECK(dict.at("a").values == std::vector<double>{3.0});
  CHECK(dict.find("b") == nullptr);
}
