// Module buffers and composite models: names, order and state-dict keys as PyTorch composes them, loading
// and saving buffers, registration errors in PyTorch's words, and the default repr. The expected key lists
// and messages were printed by PyTorch 2.x (`list(m.state_dict().keys())`, `m.load_state_dict(...)`) for
// the same module trees and are hard-coded here.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <seqnet/cell.hpp>
#include <seqnet/linear.hpp>
#include <seqnet/module.hpp>
#include <seqnet/optim/sgd.hpp>
#include <seqnet/safetensors.hpp>
#include <seqnet/state_dict.hpp>

namespace {

using seqnet::Index;
using seqnet::Shape;

/// A leaf with one parameter and three buffers (one not persistent), the shape of BatchNorm1d's state.
template <typename T>
class Scale : public seqnet::Module<T> {
 public:
  explicit Scale(Index n) : seqnet::Module<T>("Scale", table(n)), n_(n) {
    this->register_buffer("running_mean", Shape{n});
    this->register_buffer("running_var", Shape{n}, T(1));
    this->register_buffer("scratch", Shape{2}, T(7), /*persistent=*/false);
  }
  std::string extra_repr() const override { return std::to_string(n_); }

  // Exposes the protected registration to the error tests.
  void add_buffer(const std::string& name) { this->register_buffer(name, Shape{1}); }

 private:
  static seqnet::detail::ParameterTable table(Index n) {
    seqnet::detail::ParameterTable t;
    t.add("weight", Shape{n});
    return t;
  }
  Index n_;
};

/// PyTorch: class Dec(nn.Module): self.rnn = nn.LSTMCell(2, 2); self.norm = Scale(2)
template <typename T>
struct Dec : seqnet::Module<T> {
  seqnet::LSTMCell<T> rnn{2, 2};
  Scale<T> norm{2};
  Dec() : seqnet::Module<T>("Dec") {
    this->register_module("rnn", &Dec::rnn);
    this->register_module("norm", &Dec::norm);
  }
};

/// PyTorch: class M(nn.Module): self.enc = nn.Linear(2, 2); self.register_buffer("basis", torch.zeros(2));
/// self.dec = Dec()
template <typename T>
struct Model : seqnet::Module<T> {
  seqnet::Linear<T> enc{2, 2};
  Dec<T> dec;
  Model() : seqnet::Module<T>("M") {
    this->register_module("enc", &Model::enc);
    this->register_buffer("basis", Shape{2});
    this->register_module("dec", &Model::dec);
  }
  void add_child(const std::string& name) { this->register_module(name, &Model::enc); }
};

std::vector<std::string> names(const seqnet::NamedParameters<const double>& named) {
  std::vector<std::string> out;
  for (const auto& entry : named) out.push_back(entry.first);
  return out;
}

}  // namespace

TEST_CASE("a module's buffers: declaration order, values, persistent ones in the state dict after the parameters",
          "[module][buffers]") {
  Scale<double> scale(3);
  const auto& view = std::as_const(scale);
  CHECK(names(view.named_buffers()) == std::vector<std::string>{"running_mean", "running_var", "scratch"});
  CHECK(names(view.named_parameters()) == std::vector<std::string>{"weight"});
  CHECK(names(view.named_state()) == std::vector<std::string>{"weight", "running_mean", "running_var"});
  CHECK(view.buffer("running_var").dimensions() == Shape{3});
  CHECK(view.buffer("running_var").data()[2] == 1.0);
  CHECK(view.buffer("scratch").data()[1] == 7.0);
  CHECK(view.num_parameters() == 3);  // buffers are not parameters

  // buffer(name) is a writable view; state_dict copies the buffers under their names.
  scale.buffer("running_mean").data()[1] = 0.5;
  const auto dict = seqnet::state_dict(scale);
  CHECK(dict.keys() == std::vector<std::string>{"weight", "running_mean", "running_var"});
  CHECK(dict.at("running_mean").values == std::vector<double>{0.0, 0.5, 0.0});

  CHECK_THROWS_WITH(view.buffer("running_std"), "'Scale' object has no attribute 'running_std'");
  CHECK_THROWS_AS(view.buffer("running_std"), seqnet::key_error);
}

TEST_CASE("writing a buffer through a writable accessor starts a new parameter version", "[module][buffers]") {
  Scale<float> scale(2);
  const auto before = scale.parameter_version();
  (void)std::as_const(scale).buffer("running_mean");
  CHECK(scale.parameter_version() == before);
  scale.buffer("running_mean").data()[0] = 1.0f;
  CHECK(scale.parameter_version() != before);
}

TEST_CASE("buffers load from a state dict and from safetensors, and are checked like parameters",
          "[module][buffers]") {
  Scale<double> source(2);
  source.buffer("running_mean").data()[0] = 0.25;
  source.buffer("running_var").data()[1] = 4.0;
  source.parameter("weight").data()[1] = -3.0;

  Scale<float> target(2);
  CHECK(seqnet::load_safetensors(seqnet::Safetensors::parse(seqnet::serialize_safetensors(source)), target).empty());
  CHECK(target.buffer("running_mean").data()[0] == 0.25f);
  CHECK(target.buffer("running_var").data()[1] == 4.0f);
  CHECK(target.parameter("weight").data()[1] == -3.0f);
  CHECK(target.buffer("scratch").data()[0] == 7.0f);  // not persistent: neither saved nor loaded

  auto dict = seqnet::state_dict(source);
  dict.erase("running_var");
  dict.insert("scratch", Shape{2}, {1.0, 2.0});
  CHECK_THROWS_WITH(seqnet::load_state_dict(target, dict),
                    "Error(s) in loading state_dict for Scale:\n"
                    "\tMissing key(s) in state_dict: \"running_var\". \n"
                    "\tUnexpected key(s) in state_dict: \"scratch\". ");
  const auto keys = seqnet::load_state_dict(target, dict, /*strict=*/false);
  CHECK(keys.str() == "_IncompatibleKeys(missing_keys=['running_var'], unexpected_keys=['scratch'])");

  auto wrong = seqnet::state_dict(source);
  wrong.at("running_mean") = {Shape{3}, {1.0, 2.0, 3.0}};
  CHECK_THROWS_WITH(seqnet::load_state_dict(target, wrong),
                    "Error(s) in loading state_dict for Scale:\n"
                    "\tsize mismatch for running_mean: copying a param with shape torch.Size([3]) from checkpoint, "
                    "the shape in current model is torch.Size([2]).");
}

TEST_CASE("composite models name their children's tensors as PyTorch does", "[module][composite]") {
  Model<double> model;
  const auto& view = std::as_const(model);
  // list(M().state_dict().keys()) in PyTorch: each module's parameters, then its buffers, then its children.
  CHECK(seqnet::state_dict(model).keys() ==
        std::vector<std::string>{"basis", "enc.weight", "enc.bias", "dec.rnn.weight_ih", "dec.rnn.weight_hh",
                                 "dec.rnn.bias_ih", "dec.rnn.bias_hh", "dec.norm.weight", "dec.norm.running_mean",
                                 "dec.norm.running_var"});
  CHECK(names(view.named_parameters()) ==
        std::vector<std::string>{"enc.weight", "enc.bias", "dec.rnn.weight_ih", "dec.rnn.weight_hh", "dec.rnn.bias_ih",
                                 "dec.rnn.bias_hh", "dec.norm.weight"});
  CHECK(names(view.named_buffers()) ==
        std::vector<std::string>{"basis", "dec.norm.running_mean", "dec.norm.running_var", "dec.norm.scratch"});
  CHECK(view.num_parameters() == 4 + 2 + 16 + 16 + 8 + 8 + 2);

  std::vector<std::string> modules;
  for (const auto& [path, module] : view.named_modules()) modules.push_back(path + ":" + module->type_name());
  CHECK(modules == std::vector<std::string>{":M", "enc:Linear", "dec:Dec", "dec.rnn:LSTMCell", "dec.norm:Scale"});

  // Dotted names reach into children; the views alias the children's own storage.
  model.parameter("dec.rnn.bias_hh").data()[3] = 2.5;
  CHECK(model.dec.rnn.parameter("bias_hh").data()[3] == 2.5);
  model.buffer("dec.norm.running_var").data()[0] = 9.0;
  CHECK(model.dec.norm.buffer("running_var").data()[0] == 9.0);
  CHECK_THROWS_WITH(view.parameter("encx.weight"), "M has no attribute `encx`");
  CHECK_THROWS_WITH(view.parameter("enc.q"), "Linear has no attribute `q`");  // PyTorch's get_parameter

  // train()/eval() reach the children.
  model.eval();
  CHECK_FALSE(model.dec.rnn.is_training());
  model.train();
  CHECK(model.dec.norm.is_training());
}

TEST_CASE("a composite's copy refers to its own children", "[module][composite]") {
  Model<float> a;
  a.parameter("enc.bias").data()[0] = 1.0f;
  Model<float> b = a;
  b.parameter("enc.bias").data()[0] = 2.0f;
  CHECK(a.enc.parameter("bias").data()[0] == 1.0f);
  CHECK(b.enc.parameter("bias").data()[0] == 2.0f);
  Model<float> c = std::move(b);
  CHECK(std::as_const(c).parameter("enc.bias").data()[0] == 2.0f);
  CHECK(std::as_const(c).parameter("enc.bias").data() == std::as_const(c).enc.parameter("bias").data());
}

TEST_CASE("a composite loads in one strict call; errors list keys module by module, in PyTorch's words",
          "[module][composite]") {
  Model<double> source;
  source.buffer("basis").data()[1] = 3.0;
  source.buffer("dec.norm.running_mean").data()[0] = -1.0;
  Model<float> target;
  const auto bytes = seqnet::serialize_safetensors(source);
  CHECK(seqnet::load_safetensors(seqnet::Safetensors::parse(bytes), target).empty());
  CHECK(target.buffer("basis").data()[1] == 3.0f);
  CHECK(target.dec.norm.buffer("running_mean").data()[0] == -1.0f);
  CHECK(target.dec.rnn.parameter("weight_hh").data()[5] == static_cast<float>(source.dec.rnn.parameter("weight_hh").data()[5]));

  // PyTorch 2.x, M().load_state_dict({"enc.weight": zeros(2, 2), "zz": zeros(1), "enc.q": zeros(1),
  // "basis": zeros(3), "dec.rnn.weight_ih": zeros(8, 2)}):
  seqnet::StateDict<double> dict;
  dict.insert("enc.weight", Shape{2, 2}, std::vector<double>(4));
  dict.insert("zz", Shape{1}, {0.0});
  dict.insert("enc.q", Shape{1}, {0.0});
  dict.insert("basis", Shape{3}, std::vector<double>(3));
  dict.insert("dec.rnn.weight_ih", Shape{8, 2}, std::vector<double>(16));
  CHECK_THROWS_WITH(
      seqnet::load_state_dict(target, dict),
      "Error(s) in loading state_dict for M:\n"
      "\tMissing key(s) in state_dict: \"enc.bias\", \"dec.rnn.weight_hh\", \"dec.rnn.bias_ih\", \"dec.rnn.bias_hh\", "
      "\"dec.norm.weight\", \"dec.norm.running_mean\", \"dec.norm.running_var\". \n"
      "\tUnexpected key(s) in state_dict: \"zz\", \"enc.q\". \n"
      "\tsize mismatch for basis: copying a param with shape torch.Size([3]) from checkpoint, the shape in current "
      "model is torch.Size([2]).");

  // Unexpected keys are claimed module by module (the root's first), not in the dict's order.
  seqnet::StateDict<double> extra = seqnet::state_dict(source);
  extra.insert("dec.norm.extra", Shape{1}, {0.0});
  extra.insert("dec.x", Shape{1}, {0.0});
  extra.insert("y", Shape{1}, {0.0});
  CHECK(seqnet::load_state_dict(target, extra, false).unexpected_keys ==
        std::vector<std::string>{"y", "dec.x", "dec.norm.extra"});
}

TEST_CASE("registering a buffer or a child: PyTorch's checks and words", "[module][errors]") {
  Scale<float> scale(2);
  CHECK_THROWS_WITH(scale.add_buffer("a.b"), "buffer name can't contain \".\"");
  CHECK_THROWS_WITH(scale.add_buffer(""), "buffer name can't be empty string \"\"");
  CHECK_THROWS_WITH(scale.add_buffer("weight"), "attribute 'weight' already exists");
  CHECK_THROWS_AS(scale.add_buffer("running_mean"), seqnet::key_error);
  Model<float> model;
  CHECK_THROWS_WITH(model.add_child("a.b"), "module name can't contain \".\", got: a.b");
  CHECK_THROWS_WITH(model.add_child(""), "module name can't be empty string \"\"");
  CHECK_THROWS_WITH(model.add_child("basis"), "attribute 'basis' already exists");
  CHECK_THROWS_WITH(model.add_child("dec"), "attribute 'dec' already exists");
}

TEST_CASE("the default repr is nn.Module's: extra_repr, then the children indented", "[module][repr]") {
  CHECK(Scale<float>(3).repr() == "Scale(3)");
  CHECK(Model<float>().repr() ==
        "M(\n"
        "  (enc): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (dec): Dec(\n"
        "    (rnn): LSTMCell(2, 2)\n"
        "    (norm): Scale(2)\n"
        "  )\n"
        ")");
}

TEST_CASE("an optimizer over a composite steps every descendant's parameters in place", "[module][composite][optim]") {
  Model<double> model;
  const auto before = seqnet::state_dict(model);
  for (auto& [name, gradient] : model.named_gradients())
    for (Index i = 0; i < gradient.size(); ++i) gradient.data()[i] = 1.0;
  const auto version = model.dec.rnn.parameter_version();
  seqnet::optim::SGD<double> sgd({&model}, seqnet::optim::SGDOptions().lr(0.5));
  sgd.step();
  CHECK(model.dec.rnn.parameter_version() != version);  // the packed weights of the cell are renewed
  const auto after = seqnet::state_dict(model);
  for (const auto& [name, tensor] : before) {
    const bool is_parameter = name.find("running") == std::string::npos && name != "basis";
    for (std::size_t i = 0; i < tensor.values.size(); ++i)
      CHECK(after.at(name).values[i] == tensor.values[i] - (is_parameter ? 0.5 : 0.0));
  }
  // One parameter by dotted name.
  seqnet::optim::SGD<double> one({{&model, "dec.norm.weight"}}, seqnet::optim::SGDOptions().lr(1.0));
  one.step();
  CHECK(model.dec.norm.parameter("weight").data()[0] == after.at("dec.norm.weight").values[0] - 1.0);
  CHECK(model.enc.parameter("bias").data()[0] == after.at("enc.bias").values[0]);
  CHECK_THROWS_AS(seqnet::optim::SGD<double>({{&model, "dec.nope.weight"}}), seqnet::key_error);
  // zero_grad reaches the children.
  model.zero_grad();
  CHECK(std::as_const(model).gradient("dec.rnn.bias_hh").data()[0] == 0.0);
}
