// SPDX-License-Identifier: MIT
// seqnet::optim against torch.optim: tools/gen_golden_optim.py writes tests/golden/optim_float64.txt and
// optim_float32.txt (format of tests/golden_io.hpp). Every optimizer case runs a few steps on two Linear
// layers and compares the parameters after each step and the exported state after the last; the clipping
// cases compare the clipped gradients and the total norm; the scheduler cases the learning rates.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <seqnet/linear.hpp>
#include <seqnet/optim.hpp>
#include <seqnet/safetensors.hpp>

#include "golden_io.hpp"

#ifndef SEQNET_GOLDEN_DIR
#error "SEQNET_GOLDEN_DIR must name the tests/golden directory"
#endif

namespace {

using namespace seqnet::optim;
using seqnet::Index;
using seqnet::Linear;

/// Cases tools/gen_golden_optim.py writes per dtype, and the least each kind must have: a shorter file
/// fails, so missing data cannot pass.
constexpr std::size_t OPTIM_MIN_CASES = 44;
const std::map<std::string, std::size_t> MIN_CASES_PER_MODULE = {
    {"SGD", 8},    {"Adam", 8},           {"AdamW", 4},            {"RMSprop", 7},  {"Adagrad", 5},
    {"StepLR", 2}, {"CosineAnnealingLR", 3}, {"clip_grad_norm_", 5}, {"clip_grad_value_", 2}};

/// |seqnet - torch| <= rtol * |torch| + atol per element.
template <typename T>
struct Tolerance;
template <>
struct Tolerance<double> {
  static constexpr const char* name = "float64";
  static constexpr double rtol = 1e-12;
  static constexpr double atol = 0.0;
};
template <>
struct Tolerance<float> {
  static constexpr const char* name = "float32";
  static constexpr double rtol = 1e-6;
  static constexpr double atol = 0.0;
};

template <typename T>
const golden::File& golden_file() {
  static const golden::File loaded = [] {
    golden::File f = golden::load(std::string(SEQNET_GOLDEN_DIR) + "/optim_" + Tolerance<T>::name + ".txt");
    if (f.dtype != Tolerance<T>::name) throw golden::format_error(f.path + ": dtype " + f.dtype);
    if (f.cases.size() < OPTIM_MIN_CASES)
      throw golden::format_error(f.path + ": only " + std::to_string(f.cases.size()) + " cases");
    return f;
  }();
  return loaded;
}

template <typename T>
std::vector<const golden::Case*> cases_of(const std::string& module) {
  std::vector<const golden::Case*> found;
  for (const auto& c : golden_file<T>().cases)
    if (c.module == module) found.push_back(&c);
  INFO("module " << module);
  REQUIRE(found.size() >= MIN_CASES_PER_MODULE.at(module));
  return found;
}

/// Worst errors of one dtype, printed at the end of each test.
struct Stats {
  std::size_t cases = 0;
  std::size_t elements = 0;
  std::size_t bitwise_equal = 0;
  double max_abs = 0.0;
  double max_rel = 0.0;
};

/// Number of elements of `actual` outside the tolerance of dtype `T` from `expected`; records the errors.
/// (`V` differs from `T` for the exported state, which is double for every `T`.)
template <typename T, typename V>
std::size_t mismatches(const V* actual, const std::vector<double>& expected, Stats& stats) {
  std::size_t failures = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]), b = expected[i];
    const double diff = std::fabs(a - b);
    if (!(diff <= Tolerance<T>::rtol * std::fabs(b) + Tolerance<T>::atol)) ++failures;
    stats.bitwise_equal += a == b;
    if (!(diff <= stats.max_abs)) stats.max_abs = diff;
    if (b != 0.0 && !(diff / std::fabs(b) <= stats.max_rel)) stats.max_rel = diff / std::fabs(b);
  }
  stats.elements += expected.size();
  return failures;
}

template <typename T>
void report(const char* what, const Stats& stats) {
  std::cout << "golden optim " << what << " " << Tolerance<T>::name << ": " << stats.cases << " cases, "
            << stats.elements << " elements (" << stats.bitwise_equal << " bitwise equal); max abs err " << stats.max_abs << ", max rel err " << stats.max_rel
            << std::endl;
  CHECK(stats.elements > 0);
}

/// The two layers every golden case works on, `a` (2 -> 3) and `b` (4 -> 5), as in the generator.
template <typename T>
struct Layers {
  Linear<T> a{2, 3};
  Linear<T> b{4, 5};

  Linear<T>& module(const std::string& layer) {
    REQUIRE((layer == "a" || layer == "b"));
    return layer == "a" ? a : b;
  }
  /// "a.weight" -> (module a, "weight").
  ParameterRef<T> ref(const std::string& dotted) {
    const std::size_t dot = dotted.find('.');
    if (dot == std::string::npos) return ParameterRef<T>(&module(dotted));
    return ParameterRef<T>(&module(dotted.substr(0, dot)), dotted.substr(dot + 1));
  }
  void set(const std::string& dotted, const golden::Tensor& values, bool gradient) {
    ParameterRef<T> r = ref(dotted);
    seqnet::Parameter<T> target = gradient ? r.module->gradient(r.name) : r.module->parameter(r.name);
    REQUIRE(static_cast<std::size_t>(target.size()) == values.values.size());
    for (std::size_t i = 0; i < values.values.size(); ++i) target.data()[i] = static_cast<T>(values.values[i]);
  }
  const T* values(const std::string& dotted) {
    ParameterRef<T> r = ref(dotted);
    return std::as_const(*r.module).parameter(r.name).data();
  }
  const T* gradient(const std::string& dotted) {
    ParameterRef<T> r = ref(dotted);
    return std::as_const(*r.module).gradient(r.name).data();
  }
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

/// Applies one option `key=value` of a golden case to a parameter group's overrides (the top-level
/// options go through a group too, merged over the optimizer's defaults as PyTorch merges a group).
template <typename T>
void apply_option(ParamGroup<T>& group, const golden::Case& c, const std::string& key, const std::string& option_key) {
  const auto number = [&] { return c.float_option(option_key); };
  const auto flag = [&] { return c.bool_option(option_key); };
  if (key == "lr") group.lr(number());
  else if (key == "momentum") group.momentum(number());
  else if (key == "dampening") group.dampening(number());
  else if (key == "weight_decay") group.weight_decay(number());
  else if (key == "nesterov") group.nesterov(flag());
  else if (key == "maximize") group.maximize(flag());
  else if (key == "eps") group.eps(number());
  else if (key == "amsgrad") group.amsgrad(flag());
  else if (key == "alpha") group.alpha(number());
  else if (key == "centered") group.centered(flag());
  else if (key == "lr_decay") group.lr_decay(number());
  else if (key == "initial_accumulator_value") group.initial_accumulator_value(number());
  else if (key == "beta1") group.betas(Betas(number(), group.betas() ? group.betas()->second : 0.999));
  else if (key == "beta2") group.betas(Betas(group.betas() ? group.betas()->first : 0.9, number()));
  else FAIL("case " << c.name << ": unknown option " << option_key);
}

bool is_case_setting(const std::string& key) {
  return key == "groups" || key == "steps" || key == "scheduler" || key == "step_size" || key == "gamma" ||
         key == "T_max" || key == "eta_min";
}

template <typename T, typename Optim, typename Options>
std::unique_ptr<Optimizer<T>> make(const std::vector<ParamGroup<T>>& groups, const ParamGroup<T>& options) {
  return std::make_unique<Optim>(groups, Options::merged(options, Options()));
}

/// The optimizer a golden case describes, over `layers`. `eps_override` (tests of the test) replaces eps.
template <typename T>
std::unique_ptr<Optimizer<T>> build_optimizer(const golden::Case& c, Layers<T>& layers,
                                              std::vector<std::string>& order, double eps_override = -1) {
  ParamGroup<T> options({});
  std::vector<ParamGroup<T>> groups;
  for (const auto& group_spec : split(c.option("groups"), '|')) {
    std::vector<ParameterRef<T>> refs;
    for (const auto& item : split(group_spec, ',')) {
      refs.push_back(layers.ref(item));
      if (item.find('.') != std::string::npos) {
        order.push_back(item);
      } else {
        order.push_back(item + ".weight");
        order.push_back(item + ".bias");
      }
    }
    groups.emplace_back(refs);
  }
  for (const auto& [key, value] : c.options) {
    if (is_case_setting(key)) continue;
    if (key.size() > 3 && key[0] == 'g' && key.find('.') != std::string::npos) {
      const std::size_t dot = key.find('.');
      const std::size_t index = static_cast<std::size_t>(std::stoul(key.substr(1, dot - 1)));
      REQUIRE(index < groups.size());
      apply_option(groups[index], c, key.substr(dot + 1), key);
    } else {
      apply_option(options, c, key, key);
    }
  }
  if (eps_override >= 0) options.eps(eps_override);
  if (c.module == "SGD") return make<T, SGD<T>, SGDOptions>(groups, options);
  if (c.module == "Adam") return make<T, Adam<T>, AdamOptions>(groups, options);
  if (c.module == "AdamW") return make<T, AdamW<T>, AdamWOptions>(groups, options);
  if (c.module == "RMSprop") return make<T, RMSprop<T>, RMSpropOptions>(groups, options);
  if (c.module == "Adagrad") return make<T, Adagrad<T>, AdagradOptions>(groups, options);
  FAIL("unknown optimizer " << c.module);
  return nullptr;
}

template <typename T>
std::unique_ptr<LRScheduler<T>> build_scheduler(const golden::Case& c, Optimizer<T>& optimizer) {
  const std::string& kind = c.option("scheduler");
  if (kind == "StepLR")
    return std::make_unique<StepLR<T>>(optimizer, c.int_option("step_size"), c.float_option("gamma"));
  if (kind == "CosineAnnealingLR")
    return std::make_unique<CosineAnnealingLR<T>>(optimizer, c.int_option("T_max"), c.float_option("eta_min"));
  REQUIRE(kind == "none");
  return nullptr;
}

/// Runs one optimizer case; returns the number of mismatching elements (parameters after every step and
/// the final state).
template <typename T>
std::size_t run_optimizer_case(const golden::Case& c, Stats& stats, double eps_override = -1) {
  Layers<T> layers;
  std::vector<std::string> order;
  std::unique_ptr<Optimizer<T>> optimizer = build_optimizer(c, layers, order, eps_override);
  std::unique_ptr<LRScheduler<T>> scheduler = build_scheduler(c, *optimizer);
  REQUIRE(c.params.size() == order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    REQUIRE(c.params[i].name == order[i]);
    layers.set(order[i], c.params[i], false);
  }
  const long long steps = c.int_option("steps");
  REQUIRE(steps > 0);
  std::size_t failures = 0;
  for (long long k = 0; k < steps; ++k) {
    for (const auto& name : order) {
      const golden::Tensor* g = c.find_input("grad" + std::to_string(k) + "." + name);
      REQUIRE(g != nullptr);
      layers.set(name, *g, true);
    }
    optimizer->step();
    if (scheduler) scheduler->step();
    for (const auto& name : order) {
      const golden::Tensor* expected = c.find_output("step" + std::to_string(k) + "." + name);
      REQUIRE(expected != nullptr);
      failures += mismatches<T>(layers.values(name), expected->values, stats);
    }
  }
  // The exported state: the same keys as torch's state_dict()['state'], the same values.
  const seqnet::StateDict<double> dict = optimizer->state_dict();
  std::size_t state_keys = 0;
  for (const auto& [key, tensor] : dict) {
    if (key.compare(0, 6, "state.") != 0) continue;
    ++state_keys;
    const golden::Tensor* expected = c.find_output(key);
    INFO("state key " << key);
    REQUIRE(expected != nullptr);
    REQUIRE(expected->values.size() == tensor.values.size());
    failures += mismatches<T>(tensor.values.data(), expected->values, stats);
  }
  std::size_t golden_state_keys = 0;
  for (const auto& output : c.outputs) golden_state_keys += output.name.compare(0, 6, "state.") == 0;
  CHECK(state_keys == golden_state_keys);
  ++stats.cases;
  return failures;
}

template <typename T>
void optimizer_golden(const std::vector<std::string>& modules) {
  Stats stats;
  for (const auto& module : modules)
    for (const golden::Case* c : cases_of<T>(module)) {
      INFO("case " << c->name << " (" << Tolerance<T>::name << ")");
      CHECK(run_optimizer_case<T>(*c, stats) == 0);
    }
  std::string names;
  for (const auto& module : modules) names += (names.empty() ? "" : "+") + module;
  report<T>(names.c_str(), stats);
}

template <typename T>
void clip_golden() {
  Stats stats;
  for (const std::string module : {"clip_grad_norm_", "clip_grad_value_"})
    for (const golden::Case* c : cases_of<T>(module)) {
      INFO("case " << c->name << " (" << Tolerance<T>::name << ")");
      Layers<T> layers;
      std::vector<std::string> names;
      for (const auto& p : c->params) {
        names.push_back(p.name);
        layers.set(p.name, p, false);
        const golden::Tensor* g = c->find_input("grad." + p.name);
        REQUIRE(g != nullptr);
        layers.set(p.name, *g, true);
      }
      REQUIRE(names == std::vector<std::string>{"a.weight", "a.bias", "b.weight", "b.bias"});
      std::size_t failures = 0;
      if (module == "clip_grad_norm_") {
        const T total = clip_grad_norm_({&layers.a, &layers.b}, c->float_option("max_norm"), c->float_option("norm_type"));
        const golden::Tensor* expected = c->find_output("total_norm");
        REQUIRE(expected != nullptr);
        failures += mismatches<T>(&total, expected->values, stats);
      } else {
        clip_grad_value_({&layers.a, &layers.b}, c->float_option("clip_value"));
      }
      for (const auto& name : names) {
        const golden::Tensor* expected = c->find_output("grad." + name);
        REQUIRE(expected != nullptr);
        failures += mismatches<T>(layers.gradient(name), expected->values, stats);
      }
      ++stats.cases;
      CHECK(failures == 0);
    }
  report<T>("clipping", stats);
}

template <typename T>
void scheduler_golden() {
  Stats stats;
  for (const std::string module : {"StepLR", "CosineAnnealingLR"})
    for (const golden::Case* c : cases_of<T>(module)) {
      INFO("case " << c->name);
      Layers<T> layers;
      SGD<T> sgd({ParamGroup<T>({&layers.a}).lr(c->float_option("lr0")), ParamGroup<T>({&layers.b}).lr(c->float_option("lr1"))},
                 SGDOptions());
      std::unique_ptr<LRScheduler<T>> scheduler;
      if (module == "StepLR")
        scheduler = std::make_unique<StepLR<T>>(sgd, c->int_option("step_size"), c->float_option("gamma"));
      else
        scheduler = std::make_unique<CosineAnnealingLR<T>>(sgd, c->int_option("T_max"), c->float_option("eta_min"));
      std::vector<double> lrs = scheduler->get_last_lr();
      const long long steps = c->int_option("steps");
      for (long long k = 0; k < steps; ++k) {
        scheduler->step();
        CHECK(sgd.lr(0) == scheduler->get_last_lr()[0]);
        CHECK(sgd.param_groups()[1].lr() == scheduler->get_last_lr()[1]);
        lrs.insert(lrs.end(), scheduler->get_last_lr().begin(), scheduler->get_last_lr().end());
      }
      const golden::Tensor* expected = c->find_output("lr");
      REQUIRE(expected != nullptr);
      REQUIRE(expected->values.size() == lrs.size());
      // Plain double arithmetic and libm's cos on both sides: expected to agree to the last bit.
      Stats exact;
      CHECK(mismatches<double>(lrs.data(), expected->values, exact) == 0);
      stats.elements += exact.elements;
      stats.bitwise_equal += exact.bitwise_equal;
      stats.max_abs = std::max(stats.max_abs, exact.max_abs);
      stats.max_rel = std::max(stats.max_rel, exact.max_rel);
      ++stats.cases;
    }
  report<T>("schedulers", stats);
}

}  // namespace

TEST_CASE("optim golden: every kind has its cases", "[optim][golden]") {
  for (const auto& [module, minimum] : MIN_CASES_PER_MODULE) {
    INFO(module);
    CHECK(cases_of<double>(module).size() >= minimum);
    CHECK(cases_of<float>(module).size() >= minimum);
  }
  std::size_t known = 0;
  for (const auto& c : golden_file<double>().cases) known += MIN_CASES_PER_MODULE.count(c.module);
  CHECK(known == golden_file<double>().cases.size());
  CHECK(golden_file<float>().cases.size() == golden_file<double>().cases.size());
}

TEST_CASE("optim golden float64: SGD", "[optim][golden]") { optimizer_golden<double>({"SGD"}); }
TEST_CASE("optim golden float64: Adam and AdamW", "[optim][golden]") { optimizer_golden<double>({"Adam", "AdamW"}); }
TEST_CASE("optim golden float64: RMSprop", "[optim][golden]") { optimizer_golden<double>({"RMSprop"}); }
TEST_CASE("optim golden float64: Adagrad", "[optim][golden]") { optimizer_golden<double>({"Adagrad"}); }
TEST_CASE("optim golden float64: clip_grad_norm_ and clip_grad_value_", "[optim][golden]") { clip_golden<double>(); }
TEST_CASE("optim golden: StepLR and CosineAnnealingLR", "[optim][golden]") { scheduler_golden<double>(); }

TEST_CASE("optim golden float32 smoke: every optimizer and clipping", "[optim][golden]") {
  optimizer_golden<float>({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"});
  clip_golden<float>();
}

TEST_CASE("optim golden: the comparison catches a wrong option", "[optim][golden]") {
  // The same case with Adam's default eps instead of the case's 1e-6 must fail: the tolerance is tight
  // enough to see a change in the eighth significant digit.
  const golden::Case* adam = nullptr;
  for (const golden::Case* c : cases_of<double>("Adam"))
    if (c->name == "adam_lr_betas_eps") adam = c;
  REQUIRE(adam != nullptr);
  Stats stats;
  CHECK(run_optimizer_case<double>(*adam, stats, 1e-8) > 0);
  Stats right;
  CHECK(run_optimizer_case<double>(*adam, right, 1e-6) == 0);
}

// ---------------------------------------------------------------------------------------------------------

namespace {

/// PyTorch's message for an invalid option, as `value_error`.
template <typename Build>
void check_value_error(Build&& build, const std::string& message) {
  INFO("expected: " << message);
  try {
    build();
    FAIL("no exception");
  } catch (const seqnet::value_error& e) {
    CHECK(std::string(e.what()) == message);
  }
}

}  // namespace

TEST_CASE("optim: invalid options raise PyTorch's ValueError messages", "[optim][errors]") {
  Linear<double> a(2, 3);
  check_value_error([&] { SGD<double>({&a}, SGDOptions().lr(-1.0)); }, "Invalid learning rate: -1.0");
  check_value_error([&] { SGD<double>({&a}, SGDOptions().momentum(-0.5)); }, "Invalid momentum value: -0.5");
  check_value_error([&] { SGD<double>({&a}, SGDOptions().weight_decay(-1e-5)); }, "Invalid weight_decay value: -1e-05");
  check_value_error([&] { SGD<double>({&a}, SGDOptions().nesterov(true)); },
                    "Nesterov momentum requires a momentum and zero dampening");
  check_value_error([&] { SGD<double>({&a}, SGDOptions().nesterov(true).momentum(0.9).dampening(0.1)); },
                    "Nesterov momentum requires a momentum and zero dampening");
  check_value_error([&] { Adam<double>({&a}, AdamOptions().lr(-0.001)); }, "Invalid learning rate: -0.001");
  check_value_error([&] { Adam<double>({&a}, AdamOptions().eps(-1e-8)); }, "Invalid epsilon value: -1e-08");
  check_value_error([&] { Adam<double>({&a}, AdamOptions().betas({1.0, 0.999})); },
                    "Invalid beta parameter at index 0: 1.0");
  check_value_error([&] { AdamW<double>({&a}, AdamWOptions().betas({0.9, -0.1})); },
                    "Invalid beta parameter at index 1: -0.1");
  check_value_error([&] { AdamW<double>({&a}, AdamWOptions().weight_decay(-0.01)); },
                    "Invalid weight_decay value: -0.01");
  check_value_error([&] { Adam<double>({&a}, AdamOptions().lr(std::nan(""))); }, "Invalid learning rate: nan");
  check_value_error([&] { RMSprop<double>({&a}, RMSpropOptions().alpha(-0.9)); }, "Invalid alpha value: -0.9");
  check_value_error([&] { RMSprop<double>({&a}, RMSpropOptions().momentum(-1)); }, "Invalid momentum value: -1.0");
  check_value_error([&] { RMSprop<double>({&a}, RMSpropOptions().eps(-1)); }, "Invalid epsilon value: -1.0");
  check_value_error([&] { Adagrad<double>({&a}, AdagradOptions().lr_decay(-0.1)); }, "Invalid lr_decay value: -0.1");
  check_value_error([&] { Adagrad<double>({&a}, AdagradOptions().initial_accumulator_value(-2)); },
                    "Invalid initial_accumulator_value value: -2.0");
  check_value_error([&] { Adagrad<double>({&a}, AdagradOptions().eps(-1e-10)); }, "Invalid epsilon value: -1e-10");

  check_value_error([&] { SGD<double>(std::vector<ParamGroup<double>>{}, SGDOptions()); },
                    "optimizer got an empty parameter list");
  check_value_error([&] { SGD<double>({ParamGroup<double>({&a}), ParamGroup<double>({{&a, "bias"}})}, SGDOptions()); },
                    "some parameters appear in more than one parameter group");
  check_value_error([&] { SGD<double>({&a, {&a, "weight"}}); },
                    "optimizer contains a parameter group with duplicate parameters");
  check_value_error([&] { Adam<double>({ParamGroup<double>({&a}).momentum(0.9)}, AdamOptions()); },
                    "Adam has no option 'momentum' (set in a parameter group)");
  check_value_error([&] { StepLR<double>(*std::make_unique<SGD<double>>(std::vector<ParameterRef<double>>{&a}), 0); },
                    "StepLR: step_size must be positive, got 0");
  check_value_error([&] { clip_grad_norm_({&a}, 1.0, 1.0); }, "clip_grad_norm_: seqnet supports norm_type 2.0 and inf, not 1.0");
  CHECK_THROWS_AS(SGD<double>({{&a, "wieght"}}), seqnet::key_error);
  CHECK_THROWS_WITH(SGD<double>({{&a, "wieght"}}), "'Linear' object has no attribute 'wieght'");
}

TEST_CASE("optim: groups take the defaults they do not override, and lr can change between steps", "[optim]") {
  Linear<double> a(2, 3), b(4, 5);
  SGD<double> sgd({ParamGroup<double>({&a}), ParamGroup<double>({{&b, "bias"}}).lr(0.5)},
                  SGDOptions().lr(0.1).momentum(0.9).weight_decay(0.01));
  REQUIRE(sgd.num_param_groups() == 2);
  CHECK(sgd.param_groups()[0].lr() == 0.1);
  CHECK(sgd.param_groups()[1].lr() == 0.5);
  CHECK(sgd.param_groups()[1].momentum() == 0.9);
  CHECK(sgd.param_groups()[1].weight_decay() == 0.01);
  REQUIRE(sgd.parameters().size() == 3);
  CHECK(sgd.group_parameters(1)[0].name == "bias");
  CHECK(sgd.group_parameters(0)[1].name == "bias");

  // Plain SGD: p = p - lr * g exactly, with the lr set between steps.
  SGD<double> plain({&b});
  plain.param_groups()[0].lr(0.25);
  b.zero_grad();
  b.gradient("bias").flat().setConstant(2.0);
  const double before = b.bias().data()[0];
  plain.step();
  CHECK(b.bias().data()[0] == before + -0.25 * 2.0);
  plain.set_lr(0, 0.5);
  plain.step();
  CHECK(b.bias().data()[0] == (before + -0.25 * 2.0) + -0.5 * 2.0);
  CHECK(plain.state_dict().size() == 7);  // no state: momentum 0

  // Momentum switched on later: as in PyTorch, the buffer starts as that step's gradient.
  plain.param_groups()[0].momentum(0.9);
  const double now = b.bias().data()[0];
  plain.step();
  CHECK(b.bias().data()[0] == now + -0.5 * 2.0);
  CHECK(plain.state_dict().at("state.1.momentum_buffer").values[0] == 2.0);
  plain.step();
  CHECK(b.bias().data()[0] == (now + -0.5 * 2.0) + -0.5 * (2.0 * 0.9 + 2.0));
}

TEST_CASE("optim: a step writes through the module, so packed weights are rebuilt", "[optim]") {
  Linear<double> a(2, 3), b(4, 5);
  a.zero_grad();
  Adam<double> adam({&a, &b});
  const std::uint64_t version_a = a.parameter_version(), version_b = b.parameter_version();
  a.gradient("weight").flat().setConstant(1.0);
  const std::vector<double> b_before(std::as_const(b).flat_parameters(),
                                     std::as_const(b).flat_parameters() + b.num_parameters());
  adam.step();
  CHECK(a.parameter_version() != version_a);
  // b never had gradients (PyTorch's grad None): untouched, no state.
  CHECK(b.parameter_version() == version_b);
  CHECK(std::vector<double>(std::as_const(b).flat_parameters(), std::as_const(b).flat_parameters() + b.num_parameters()) ==
        b_before);
  const seqnet::StateDict<double> dict = adam.state_dict();
  CHECK(dict.contains("state.0.exp_avg"));
  CHECK(dict.contains("state.1.step"));  // a.bias has a (zero) gradient
  CHECK(!dict.contains("state.2.step"));
  CHECK(dict.at("param_groups.0.params").values == std::vector<double>{0, 1, 2, 3});
  CHECK(dict.at("param_groups.0.betas").values == std::vector<double>{0.9, 0.999});

  adam.zero_grad();
  CHECK(std::as_const(a).gradient("weight").flat().isZero());
  CHECK(std::as_const(b).has_gradients());
}

namespace {

template <typename T, typename Optim, typename Options>
void check_resume(const Options& options, const std::string& path) {
  seqnet::Generator generator(7);
  Linear<T> a(3, 4, true, generator), b(4, 2, true, generator);
  Linear<T> a2 = a, b2 = b;  // the same starting values
  const auto set_gradients = [](Linear<T>& x, Linear<T>& y, int step) {
    for (Linear<T>* m : {&x, &y}) {
      T* g = m->flat_gradients();
      for (Index i = 0; i < m->num_parameters(); ++i)
        g[i] = static_cast<T>(std::sin(0.7 * static_cast<double>(i + 1) * (step + 1)) * (1 + step % 3));
    }
  };
  // Two groups, so that group hyperparameters and state indices both travel; the second group's lr is
  // changed after the first step, which the saved hyperparameters must carry.
  const auto groups = [](Linear<T>& x, Linear<T>& y) {
    return std::vector<ParamGroup<T>>{ParamGroup<T>({&x}), ParamGroup<T>({{&y, "weight"}, {&y, "bias"}}).lr(0.003)};
  };
  Optim straight(groups(a, b), options);
  for (int step = 0; step < 10; ++step) {
    set_gradients(a, b, step);
    straight.step();
    if (step == 0) straight.set_lr(1, 0.002);
  }
  {
    Optim first(groups(a2, b2), options);
    for (int step = 0; step < 5; ++step) {
      set_gradients(a2, b2, step);
      first.step();
      if (step == 0) first.set_lr(1, 0.002);
    }
    seqnet::save_safetensors(path, first.state_dict());
  }
  Optim resumed(groups(a2, b2), options);
  resumed.load_state_dict(seqnet::Safetensors::read(path).state_dict<double>());
  std::remove(path.c_str());
  CHECK(resumed.lr(1) == 0.002);
  for (int step = 5; step < 10; ++step) {
    set_gradients(a2, b2, step);
    resumed.step();
  }
  for (auto [x, y] : {std::make_pair(&a, &a2), std::make_pair(&b, &b2)}) {
    const T* p = std::as_const(*x).flat_parameters();
    const T* q = std::as_const(*y).flat_parameters();
    CHECK(std::vector<T>(p, p + x->num_parameters()) == std::vector<T>(q, q + y->num_parameters()));
  }
  const seqnet::StateDict<double> expected = straight.state_dict(), actual = resumed.state_dict();
  CHECK(actual.keys() == expected.keys());
  for (const auto& [key, tensor] : expected) {
    INFO(key);
    CHECK(actual.at(key).values == tensor.values);
  }
}

}  // namespace

TEST_CASE("optim: 10 steps == 5 steps, save to safetensors, load into a fresh optimizer, 5 steps (bitwise)",
          "[optim][state]") {
  const std::string path = "seqnet_test_optim_state.safetensors";
  check_resume<double, SGD<double>>(SGDOptions().lr(0.05).momentum(0.9).nesterov(true).weight_decay(0.01), path);
  check_resume<double, Adam<double>>(AdamOptions().lr(0.01).amsgrad(true).weight_decay(0.1), path);
  check_resume<double, AdamW<double>>(AdamWOptions().lr(0.01), path);
  check_resume<double, RMSprop<double>>(RMSpropOptions().centered(true).momentum(0.5), path);
  check_resume<double, Adagrad<double>>(AdagradOptions().lr_decay(0.01).initial_accumulator_value(0.1), path);
  check_resume<float, Adam<float>>(AdamOptions().lr(0.01).betas({0.8, 0.9}), path);
  check_resume<float, RMSprop<float>>(RMSpropOptions().momentum(0.9), path);
}

TEST_CASE("optim: load_state_dict rejects a state that does not fit", "[optim][state]") {
  Linear<double> a(2, 3), b(4, 5);
  a.zero_grad();
  b.zero_grad();
  Adam<double> adam({&a, &b});
  adam.step();
  const seqnet::StateDict<double> saved = adam.state_dict();

  Adam<double> two_groups({ParamGroup<double>({&a}), ParamGroup<double>({&b})}, AdamOptions());
  check_value_error([&] { two_groups.load_state_dict(saved); },
                    "loaded state dict has a different number of parameter groups");
  Adam<double> fewer({&a});
  check_value_error([&] { fewer.load_state_dict(saved); },
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
  Adam<double> swapped({&b, &a});
  CHECK_THROWS_WITH(swapped.load_state_dict(saved),
                    "size mismatch for state.0.exp_avg: copying a param with shape [3, 2] from checkpoint, the shape "
                    "in current optimizer is [5, 4].");
  SGD<double> sgd({&a, &b}, SGDOptions().momentum(0.9));
  CHECK_THROWS_AS(sgd.load_state_dict(saved), seqnet::key_error);  // no param_groups.0.momentum
  seqnet::StateDict<double> extra = saved;
  extra.insert("state.0.bogus", seqnet::Shape{}, {1.0});
  Adam<double> fresh({&a, &b});
  CHECK_THROWS_WITH(fresh.load_state_dict(extra),
                    "Error(s) in loading optimizer state_dict: Unexpected key(s) in state_dict: \"state.0.bogus\".");
  CHECK(fresh.state_dict().size() == 8);  // nothing loaded: only the group entries
}

TEST_CASE("optim: clip_grad_norm_ skips modules without gradients and returns 0 for none", "[optim][clip]") {
  Linear<double> a(2, 3), b(4, 5);
  CHECK(clip_grad_norm_({&a, &b}, 1.0) == 0.0);
  a.zero_grad();
  a.gradient("bias").flat() << 3.0, 4.0, 0.0;
  const double total = clip_grad_norm_({&a, &b}, 1.0);
  CHECK(total == 5.0);
  CHECK(std::as_const(a).gradient("bias").data()[1] == Approx(4.0 / 5.0).epsilon(1e-6));
  a.gradient("weight").data()[0] = std::numeric_limits<double>::infinity();
  check_value_error([&] { clip_grad_norm_({&a}, 1.0, 2.0, true); },
                    "The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be "
                    "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
                    "`error_if_nonfinite=False`");
  CHECK(std::isinf(std::as_const(a).gradient("weight").data()[0]));  // left alone
  CHECK(std::isinf(clip_grad_norm_({&a}, 1.0, std::numeric_limits<double>::infinity())));
}
