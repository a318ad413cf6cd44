// Proves the forward pass allocates nothing in steady state: once a module's cached workspace has
// seen its largest input, a call allocates only the tensors it returns, whatever the sequence length.
// malloc is interposed in this binary only.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "crnn_vad_model.hpp"

#include <atomic>
#include <cmath>
#include <type_traits>
#include <utility>
#include <cstdint>
#include <cstdlib>
#include <malloc.h>
#include <sstream>
#include <string>
#include <vector>
#include <algorithm>
#include <cstdint>

#include <seqnet/seqnet.hpp>

namespace {
std::atomic<long> allocation_count{0};
std::atomic<bool> counting{false};
// Heap bytes in use (by malloc_usable_size) since counting started, and their peak.
std::atomic<long long> live_bytes{0}, peak_bytes{0};
void count_allocation() {
  if (counting.load(std::memory_order_relaxed)) allocation_count.fetch_add(1, std::memory_order_relaxed);
}
void* counted(void* p) {
  if (p != nullptr && counting.load(std::memory_order_relaxed)) {
    const long long now = live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                          static_cast<long long>(malloc_usable_size(p));
    long long peak = peak_bytes.load();
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
  }
  return p;
}
void uncount(void* p) {
  if (p != nullptr && counting.load(std::memory_order_relaxed))
    live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
}
}  // namespace

// Eigen allocates its tensors and GEMM packing buffers with std::malloc, std::vector with operator new
// (which calls malloc in libstdc++), and the workspace buffers with the aligned operator new (which calls
// aligned_alloc), so counting at those catches all of them. glibc lets a program interpose them and reach
// the real ones as __libc_malloc and __libc_memalign.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
void free(void* p) {
  uncount(p);
  __libc_free(p);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count_allocation();
  return counted(__libc_memalign(alignment, size));
}
void* memalign(std::size_t alignment, std::size_t size) {
  count_allocation();
  return counted(__libc_memalign(alignment, size));
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count_allocation();
  void* p = counted(__libc_memalign(alignment, size));
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* malloc(std::size_t size) {
  count_allocation();
  return counted(__libc_malloc(size));
}
void* calloc(std::size_t n, std::size_t size) {
  count_allocation();
  return counted(__libc_calloc(n, size));
}
void* realloc(void* p, std::size_t size) {
  count_allocation();
  uncount(p);
  return counted(__libc_realloc(p, size));
}
}

namespace {

/// The peak of the heap bytes `fn` had in use at once (what it allocated and had not yet freed).
template <typename Fn>
long long peak_bytes_during(Fn&& fn) {
  live_bytes = 0;
  peak_bytes = 0;
  counting = true;
  fn();
  counting = false;
  return peak_bytes.load();
}

template <typename Fn>
long allocations_during(Fn&& fn) {
  allocation_count = 0;
  counting = true;
  fn();
  counting = false;
  return allocation_count.load();
}

/// Number of tensors a forward call returns (each is one heap allocation).
template <typename Module>
constexpr long result_tensors() {
  using T = typename Module::Scalar;
  return std::is_same_v<Module, seqnet::LSTM<T>> ? 3 : 2;
}

/// After one warm-up call on the longest input, the module's cached workspace fits every shorter one:
/// each further call allocates only the tensors it returns, whatever the sequence length.
template <typename Module, typename... Extra>
void require_steady_state_allocations(const Module& module, seqnet::Index batch, seqnet::Index features,
                                      bool batch_first, long bookkeeping, const Extra&... extra) {
  auto input = [&](seqnet::Index seq) {
    return batch_first ? seqnet::randn<typename Module::Scalar>(batch, seq, features)
                       : seqnet::randn<typename Module::Scalar>(seq, batch, features);
  };
  const auto short_input = input(3);
  const auto long_input = input(40);
  const long first_count = allocations_during([&] { (void)module(long_input, extra...); });
  const long long_count = allocations_during([&] { (void)module(long_input, extra...); });
  const long short_count = allocations_during([&] { (void)module(short_input, extra...); });
  const long again_count = allocations_during([&] { (void)module(long_input, extra...); });
  INFO("allocations: first call " << first_count << ", then seq 40: " << long_count << ", seq 3: " << short_count
                                  << ", seq 40 again: " << again_count);
  CHECK(first_count > long_count);  // the counter works: the first call builds the workspace
  CHECK(long_count == result_tensors<Module>() + bookkeeping);
  CHECK(short_count == long_count);
  CHECK(again_count == long_count);
}

}  // namespace

TEST_CASE("a steady-state forward allocates only the tensors it returns", "[allocation]") {
  SECTION("tutorial LSTM, 4 layers") {
    seqnet::LSTM<float> lstm(100, 20, 4);
    require_steady_state_allocations(lstm, 3, 100, false, 0);
  }
  SECTION("batch 1: the matrix-vector path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(128, 128).proj_size(64).bidirectional(true));
    require_steady_state_allocations(lstm, 1, 128, false, 0);
  }
  SECTION("large LSTM: the packed GEMM path") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(256, 256).num_layers(2));
    require_steady_state_allocations(lstm, 16, 256, false, 0);
  }
  SECTION("bidirectional stacked LSTM with projection, batch_first") {
    seqnet::LSTM<double> lstm(seqnet::LSTMOptions(64, 128).num_layers(2).bidirectional(true).proj_size(48).batch_first(true));
    require_steady_state_allocations(lstm, 8, 64, true, 0);
  }
  SECTION("RNN relu, bidirectional") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(100, 200).num_layers(3).bidirectional(true).nonlinearity(seqnet::Nonlinearity::Relu));
    require_steady_state_allocations(rnn, 5, 100, false, 0);
  }
  SECTION("GRU, stacked, with h0") {
    seqnet::GRU<float> gru(seqnet::GRUOptions(32, 64).num_layers(2));
    const auto h0 = seqnet::randn<float>(2, 6, 64);
    require_steady_state_allocations(gru, 6, 32, false, 0, h0);
  }
  SECTION("frozen weights: packed once, kept between calls") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(64, 96).num_layers(2).proj_size(32));
    lstm.prepack();
    require_steady_state_allocations(lstm, 8, 64, false, 0);
  }
  SECTION("training-mode dropout") {
    seqnet::RNN<float> rnn(seqnet::RNNOptions(32, 64).num_layers(3).dropout(0.3));
    rnn.train();
    require_steady_state_allocations(rnn, 4, 32, false, 0);
  }
  SECTION("packed sequences in any order: plus the sort order and the per-step batch sizes") {
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(16, 32).bidirectional(true));
    const seqnet::SequenceLengths lengths = seqnet::SequenceLengths{1, 3, 2}.enforce_sorted(false);
    require_steady_state_allocations(lstm, 3, 16, false, 2, lengths);
  }
}

TEST_CASE("a steady-state cell step allocates only the states it returns", "[allocation]") {
  seqnet::LSTMCell<float> lstm_cell(64, 32);
  seqnet::GRUCell<double> gru_cell(64, 32);
  const auto x = seqnet::randn<float>(8, 64);
  const auto x_double = seqnet::randn<double>(8, 64);
  (void)lstm_cell(x);
  (void)gru_cell(x_double);
  CHECK(allocations_during([&] { (void)lstm_cell(x); }) == 2);
  CHECK(allocations_during([&] { (void)gru_cell(x_double); }) == 1);
  // Frozen, alternating one-row (in place) and several-row (packed) steps.
  lstm_cell.prepack();
  const auto row = seqnet::randn<float>(1, 64);
  (void)lstm_cell(x);
  (void)lstm_cell(row);
  CHECK(allocations_during([&] {
          (void)lstm_cell(row);
          (void)lstm_cell(x);
        }) == 4);
}

TEST_CASE("cell steps shared by two threads allocate only the states they return", "[allocation][threads]") {
  seqnet::set_num_threads(2);
  seqnet::LSTMCell<float> cell(128, 256);
  cell.prepack();
  const auto x = seqnet::randn<float>(32, 128);
  (void)cell(x);
  CHECK(allocations_during([&] { (void)cell(x); }) == 2);
  seqnet::set_num_threads(1);
}

TEST_CASE("a stream's steady-state steps allocate nothing", "[allocation][stream]") {
  seqnet::LSTM<float> lstm(seqnet::LSTMOptions(32, 64).num_layers(2));
  seqnet::Stream stream(lstm, 2);
  const auto x = seqnet::randn<float>(2, 32);
  const auto chunk = seqnet::randn<float>(5, 2, 32);
  seqnet::Tensor<float, 2> y;
  seqnet::Tensor<float, 3> ys;
  stream.step_into(x, y);
  stream.feed_into(chunk, ys);
  CHECK(allocations_during([&] {
          for (int i = 0; i < 10; ++i) stream.step_into(x, y);
          stream.feed_into(chunk, ys);
          stream.step_into(x, y);
        }) == 0);
}

/// A safetensors file of `header` (padded to 8 bytes) and `data_bytes` zero bytes.
std::vector<std::uint8_t> safetensors_file(std::string header, std::size_t data_bytes) {
  while (header.size() % 8 != 0) header += ' ';
  std::vector<std::uint8_t> bytes(8 + header.size() + data_bytes, 0);
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(header.size() >> (8 * i));
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  return bytes;
}

// The header parser once built the whole JSON tree (88 bytes a value) before it rejected anything: a
// 2 MB shape of zeros cost about 57 times its size. Streamed against the schema, a hostile header is
// rejected at its first violation, and an accepted one keeps what it describes: a tensor list (about 7x
// the header at worst, 55-byte entries) or metadata strings (about 13x at worst, 12-byte entries).
TEST_CASE("safetensors: parsing a header costs a small multiple of its size", "[safetensors]") {
  constexpr std::size_t target = 2'000'000;
  std::string shape = R"({"a":{"dtype":"F32","shape":[0)";
  while (shape.size() < target) shape += ",0";
  shape += R"(],"data_offsets":[0,0]}})";
  std::string tensors = "{";
  for (int i = 0; tensors.size() < target; ++i)
    tensors += "\"t" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)";
  tensors += R"("z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string metadata = R"({"__metadata__":{)";
  for (int i = 0; metadata.size() < target; ++i) metadata += "\"" + std::to_string(i) + R"(":"",)";
  metadata += R"("z":""}})";

  struct Case {
    const char* what;
    std::string header;
    std::size_t data;
    bool accepted;
    double max_ratio;
  };
  for (const Case& c : {Case{"a shape of a million zeros", shape, 0, false, 0.5},
                        Case{"many tensors", tensors, 4, true, 12.0},
                        Case{"many metadata entries", metadata, 0, true, 20.0}}) {
    auto bytes = safetensors_file(c.header, c.data);
    bool accepted = false;
    const long long used = peak_bytes_during([&] {
      try {
        (void)seqnet::Safetensors::parse(std::move(bytes));
        accepted = true;
      } catch (const seqnet::format_error&) {
      }
    });
    const double ratio = static_cast<double>(used) / static_cast<double>(c.header.size());
    INFO(c.what << ": " << c.header.size() << " header bytes, a peak of " << used << " bytes in use (" << ratio << "x)");
    CHECK(accepted == c.accepted);
    CHECK(ratio <= c.max_ratio);
  }
}

// A word2vec header declares a count that nothing has backed yet: "1048576 1" once reserved 2^20
// words (32 MB of std::string) before the next line was read and rejected.
TEST_CASE("word vectors: a word2vec header's declared count reserves nothing large", "[word_vectors]") {
  for (const char* text : {"1048576 1\nthe \x01\x02\n", "4000000000 3\nthe 1 2\n"}) {
    std::istringstream in(text);
    bool rejected = false;
    const long long used = peak_bytes_during([&] {
      try {
        (void)seqnet::WordVectors<float>::from_stream(in, "hostile.txt");
      } catch (const seqnet::format_error&) {
        rejected = true;
      }
    });
    INFO(text << ": a peak of " << used << " bytes in use");
    CHECK(rejected);
    CHECK(used < 64 * 1024);
  }
}

// The real-time API: every "into" form, on the general path (unfrozen, or several rows) and on the
// tiny-step path (frozen, one row), allocates nothing once its outputs have their shape. Its checks
// build no message unless they fail.
namespace {

/// Runs `step` once to size its outputs and workspaces, then counts the allocations of ten more.
template <typename Fn>
long steady_allocations(Fn&& step) {
  step();
  return allocations_during([&] {
    for (int i = 0; i < 10; ++i) step();
  });
}

template <typename T>
void require_allocation_free_cells(seqnet::Index batch, bool frozen) {
  seqnet::Generator generator(5);
  seqnet::LSTMCell<T> lstm(seqnet::LSTMCellOptions(3, 16), generator);
  seqnet::GRUCell<T> gru(seqnet::GRUCellOptions(3, 16), generator);
  seqnet::RNNCell<T> rnn(seqnet::RNNCellOptions(3, 16).nonlinearity(seqnet::Nonlinearity::Relu), generator);
  if (frozen) {
    lstm.prepack();
    gru.prepack();
    rnn.prepack();
  }
  const auto x = seqnet::randn<T>(batch, 3);
  seqnet::LSTMState<T, 2> state{seqnet::zeros<T>(batch, 16), seqnet::zeros<T>(batch, 16)};
  seqnet::LSTMState<T, 2> other;
  seqnet::Tensor<T, 2> h = seqnet::zeros<T>(batch, 16), h_out;
  CHECK(steady_allocations([&] { lstm.forward_into(x, state, state); }) == 0);
  CHECK(steady_allocations([&] { lstm.forward_into(x, state, other); }) == 0);
  CHECK(steady_allocations([&] { lstm.forward_into(x, other); }) == 0);
  CHECK(steady_allocations([&] { gru.forward_into(x, h, h); }) == 0);
  CHECK(steady_allocations([&] { gru.forward_into(x, h, h_out); }) == 0);
  CHECK(steady_allocations([&] { rnn.forward_into(x, h, h); }) == 0);
  CHECK(steady_allocations([&] { rnn.forward_into(x, h_out); }) == 0);
  // The returning forms allocate exactly their results.
  CHECK(steady_allocations([&] { (void)lstm(x, state); }) == 20);
  CHECK(steady_allocations([&] { (void)gru(x, h); }) == 10);
}

}  // namespace

TEST_CASE("cells stepped into caller-owned outputs allocate nothing", "[allocation][realtime]") {
  for (bool frozen : {false, true}) {
    for (seqnet::Index batch : {1, 4}) {
      INFO("frozen " << frozen << ", batch " << batch);
      require_allocation_free_cells<float>(batch, frozen);
      require_allocation_free_cells<double>(batch, frozen);
    }
  }
}

TEST_CASE("Linear::forward_into allocates nothing; forward only its result", "[allocation][realtime]") {
  seqnet::Linear<float> head(32, 1);
  seqnet::Linear<double> wide(16, 40, false);
  const auto h = seqnet::randn<float>(1, 32);
  const auto rows = seqnet::randn<double>(3, 5, 16);
  seqnet::Tensor<float, 2> y;
  seqnet::Tensor<double, 3> ys;
  CHECK(steady_allocations([&] { head.forward_into(h, y); }) == 0);
  CHECK(steady_allocations([&] { wide.forward_into(rows, ys); }) == 0);
  CHECK(steady_allocations([&] { (void)head(h); }) == 10);
}

// The first loop is docs/sequences.md's "A real-time loop".
TEST_CASE("a real-time loop (stream or cell, then a Linear head) allocates nothing per sample", "[allocation][realtime]") {
  for (bool frozen : {false, true}) {
    INFO("frozen " << frozen);
    seqnet::LSTM<float> lstm(seqnet::LSTMOptions(8, 32).num_layers(2));
    seqnet::GRU<float> gru(seqnet::GRUOptions(4, 32).batch_first(true));
    seqnet::LSTMCell<float> cell(1, 16);
    seqnet::Linear<float> head(32, 1), gru_head(32, 1), cell_head(16, 1);
    if (frozen) {
      lstm.prepack();
      gru.prepack();
      cell.prepack();
    }
    seqnet::Stream lstm_stream(lstm);
    seqnet::Stream gru_stream(gru);
    seqnet::Tensor<float, 2> x = seqnet::randn<float>(1, 1), x4 = seqnet::randn<float>(1, 4), x8 = seqnet::randn<float>(1, 8), h, y;
    const auto chunk = seqnet::randn<float>(1, 64, 4);
    seqnet::Tensor<float, 3> hs;
    seqnet::LSTMState<float, 2> state{seqnet::zeros<float>(1, 16), seqnet::zeros<float>(1, 16)};
    CHECK(steady_allocations([&] {
            lstm_stream.step_into(x8, h);
            head.forward_into(h, y);
          }) == 0);
    CHECK(steady_allocations([&] {
            gru_stream.step_into(x4, h);
            gru_head.forward_into(h, y);
          }) == 0);
    CHECK(steady_allocations([&] { gru_stream.feed_into(chunk, hs); }) == 0);
    CHECK(steady_allocations([&] {
            cell.forward_into(x, state, state);
            cell_head.forward_into(state.first, y);
          }) == 0);
    CHECK(steady_allocations([&] { lstm_stream.reset(); }) == 0);
  }
}

namespace {

/// A composite model as docs/interop.md ports one: an LSTMCell decoder and a Linear head registered as
/// children, and a buffer read at every step.
struct CellModel : seqnet::Module<float> {
  seqnet::LSTMCell<float> rnn{4, 16};
  seqnet::Linear<float> head{16, 1};
  CellModel() : seqnet::Module<float>("CellModel") {
    register_buffer("input_scale", seqnet::Shape{4}, 1.0f);
    register_module("rnn", &CellModel::rnn);
    register_module("head", &CellModel::head);
  }
  void step_into(const seqnet::Tensor<float, 2>& x, seqnet::Tensor<float, 2>& scaled, seqnet::LSTMState<float, 2>& state,
                 seqnet::Tensor<float, 2>& y) const {
    const float* scale = buffer("input_scale").data();
    for (seqnet::Index j = 0; j < 4; ++j) scaled(0, j) = x(0, j) * scale[j];
    rnn.forward_into(scaled, state, state);
    head.forward_into(state.first, y);
  }
};

}  // namespace

TEST_CASE("a composite cell model loaded from a state dict, and a Stream over a cell, step without allocating",
          "[allocation][realtime][compose]") {
  for (bool frozen : {false, true}) {
    INFO("frozen " << frozen);
    CellModel source, model;
    source.buffer("input_scale").data()[2] = 0.5f;
    seqnet::load_state_dict(model, seqnet::state_dict(source));
    if (frozen) model.rnn.prepack();
    const seqnet::Tensor<float, 2> x = seqnet::randn<float>(1, 4);
    seqnet::Tensor<float, 2> scaled(1, 4), y, h;
    seqnet::LSTMState<float, 2> state{seqnet::zeros<float>(1, 16), seqnet::zeros<float>(1, 16)};
    CHECK(steady_allocations([&] { model.step_into(x, scaled, state, y); }) == 0);
    seqnet::Stream stream(model.rnn);
    CHECK(steady_allocations([&] {
            stream.step_into(x, h);
            model.head.forward_into(h, y);
          }) == 0);
  }
}

TEST_CASE("passing checks of the other public calls allocate nothing", "[allocation]") {
  CHECK(allocations_during([] { seqnet::set_num_threads(1); }) == 0);
  seqnet::Embedding<float> embedding(10, 4);
  const seqnet::Tensor<std::int64_t, 1> ids = seqnet::Tensor<std::int64_t, 1>(3).setConstant(7);
  CHECK(steady_allocations([&] { (void)embedding(ids); }) == 10);  // its result
  seqnet::GRU<float> gru(seqnet::GRUOptions(4, 8).num_layers(2));
  seqnet::Stream stream(gru);
  const auto h0 = seqnet::randn<float>(2, 1, 8);
  CHECK(steady_allocations([&] { stream.reset(h0); }) == 0);
  auto weight = gru.parameter("weight_ih_l0");
  const auto values = seqnet::randn<float>(24, 4);
  CHECK(steady_allocations([&] { weight.assign(values); }) == 0);
}

TEST_CASE("optimizer steps allocate nothing after the first, nor do zero_grad and the schedulers", "[allocation][optim]") {
  namespace optim = seqnet::optim;
  seqnet::LSTM<double> lstm(seqnet::LSTMOptions(4, 8));
  seqnet::Linear<double> head(8, 1);
  lstm.zero_grad();
  head.zero_grad();
  optim::Adam<double> adam({&lstm, &head}, optim::AdamOptions().amsgrad(true).weight_decay(0.01));
  optim::AdamW<double> adamw({&lstm, &head});
  optim::SGD<double> sgd({optim::ParamGroup<double>({&lstm}), optim::ParamGroup<double>({&head}).lr(0.1)},
                         optim::SGDOptions().momentum(0.9).nesterov(true));
  optim::RMSprop<double> rmsprop({&lstm, &head}, optim::RMSpropOptions().centered(true).momentum(0.5));
  optim::Adagrad<double> adagrad({&lstm, &head}, optim::AdagradOptions().lr_decay(0.1));
  std::vector<optim::Optimizer<double>*> optimizers{&adam, &adamw, &sgd, &rmsprop, &adagrad};
  for (auto* optimizer : optimizers) optimizer->step();  // creates the state, as PyTorch does lazily
  optim::StepLR<double> step_lr(adam, 2, 0.5);
  optim::CosineAnnealingLR<double> cosine(sgd, 5, 1e-4);
  for (int i = 0; i < 3; ++i) {
    head.gradient("bias").data()[0] = 0.5 + i;
    for (auto* optimizer : optimizers) {
      CHECK(allocations_during([&] { optimizer->step(); }) == 0);
      CHECK(allocations_during([&] { optimizer->zero_grad(); }) == 0);
    }
    CHECK(allocations_during([&] { step_lr.step(); }) == 0);
    CHECK(allocations_during([&] { cosine.step(); }) == 0);
  }
}

// The training API (docs/training.md): tapes, gradients and loss gradients live in caller-owned or
// module-owned buffers, so once they have their shapes a training step allocates nothing.
TEST_CASE("a training step (Embedding, Linear, losses, backward) allocates nothing in steady state", "[allocation][training]") {
  seqnet::Embedding<float> embedding(20, 8, 0);
  seqnet::Linear<float> linear(8, 5);
  const seqnet::Tensor<std::int64_t, 1> ids = seqnet::Tensor<std::int64_t, 1>(6).setValues({3, 0, 7, 7, 19, 1});
  const seqnet::Tensor<std::int64_t, 1> classes = seqnet::Tensor<std::int64_t, 1>(6).setValues({4, -100, 0, 2, 2, 1});
  const auto targets = seqnet::randn<float>(6, 5);
  seqnet::Embedding<float>::Tape embedding_tape;
  seqnet::Linear<float>::Tape linear_tape;
  seqnet::Tensor<float, 2> e, y, dy, de, losses, dy_none;
  seqnet::Tensor<float, 1> sample_losses, upstream = seqnet::Tensor<float, 1>(6).setConstant(0.5f);
  const seqnet::CrossEntropyLoss<float> cross_entropy(
      seqnet::CrossEntropyLossOptions().weight({1, 2, 1, 2, 1}).label_smoothing(0.1));
  const seqnet::CrossEntropyLoss<float> per_sample(seqnet::CrossEntropyLossOptions().reduction(seqnet::Reduction::None));
  const seqnet::MSELoss<float> mse;
  const seqnet::MSELoss<float> mse_none(seqnet::Reduction::None);
  const seqnet::BCEWithLogitsLoss<float> bce(seqnet::BCEWithLogitsLossOptions().pos_weight({2}));
  float total = 0;
  CHECK(steady_allocations([&] {
          embedding.zero_grad();
          linear.zero_grad();
          embedding.forward_train(ids, e, embedding_tape);
          linear.forward_train(e, y, linear_tape);
          total += cross_entropy.forward(y, classes, dy);
          total += mse.forward(y, targets, dy);
          total += bce.forward(y, targets, dy);
          total += seqnet::cross_entropy(y, classes) + seqnet::mse_loss(y, targets);
          mse_none.unreduced_into(y, targets, losses);
          mse_none.unreduced_backward(y, targets, losses, dy_none);
          per_sample.unreduced_into(y, classes, sample_losses);
          per_sample.unreduced_backward(y, classes, upstream, dy);
          linear.backward(linear_tape, dy, de);
          embedding.backward(embedding_tape, de);
        }) == 0);
  CHECK(std::isfinite(total));
  // A larger batch grows the buffers once; the smaller one then fits in them.
  const seqnet::Tensor<std::int64_t, 1> more_ids = seqnet::Tensor<std::int64_t, 1>(9).setConstant(2);
  embedding.forward_train(more_ids, e, embedding_tape);
  CHECK(allocations_during([&] { embedding.forward_train(ids, e, embedding_tape); }) == 1);  // e shrinks: Eigen reallocates
  CHECK(allocations_during([&] { embedding.forward_train(ids, e, embedding_tape); }) == 0);
}

TEST_CASE("Conv1d::forward_into allocates nothing in steady state; forward only its result", "[allocation][conv]") {
  for (const auto mode : {seqnet::PaddingMode::zeros, seqnet::PaddingMode::reflect}) {
    seqnet::Conv1d<float> conv(seqnet::Conv1dOptions(16, 8, 3).padding(1).groups(2).padding_mode(mode));
    seqnet::Tensor<float, 3> x(2, 16, 40), y;
    x.setConstant(0.5f);
    conv.forward_into(x, y);  // sizes y and the module's scratch, packs the weight
    CHECK(allocations_during([&] { conv.forward_into(x, y); }) == 0);
    seqnet::Tensor<float, 3> shorter(2, 16, 20);
    shorter.setConstant(0.5f);
    seqnet::Tensor<float, 3> y_short;
    conv.forward_into(shorter, y_short);
    CHECK(allocations_during([&] { conv.forward_into(shorter, y_short); }) == 0);
    CHECK(allocations_during([&] { (void)conv(x); }) == 1);
  }
}

// Truncated BPTT and online learning (docs/training.md): the carried state, the tapes, the results and
// the gradients are caller-owned (`forward_train_into`, `backward_into`), so once they have their shapes
// a chunk's forward, backward and optimizer step allocate nothing, nor does a cell's one-step update.
TEST_CASE("truncated BPTT and online steps allocate nothing in steady state", "[allocation][training]") {
  namespace optim = seqnet::optim;
  seqnet::Generator generator(3);
  const auto chunk = seqnet::randn<double>(5, 2, 8);
  const auto target = seqnet::randn<double>(5, 2, 1);
  seqnet::MSELoss<double> mse;
  seqnet::Tensor<double, 3> out, prediction, grad_prediction, grad_out;
  seqnet::InputGradients<double, 3> grads;
  seqnet::Linear<double>::Tape head_tape;
  seqnet::RecurrentTape<double> tape;
  double total = 0;

  SECTION("LSTM, two layers, Adam") {
    seqnet::LSTM<double> lstm(seqnet::LSTMOptions(8, 16).num_layers(2), generator);
    seqnet::Linear<double> head(16, 1);
    optim::Adam<double> adam({&lstm, &head});
    seqnet::LSTMState<double, 3> state{seqnet::Tensor<double, 3>(2, 2, 16).setZero(),
                                       seqnet::Tensor<double, 3>(2, 2, 16).setZero()};
    CHECK(steady_allocations([&] {
            adam.zero_grad();
            lstm.forward_train_into(tape, chunk, state, out, state);
            head.forward_train(out, prediction, head_tape);
            total += mse.forward(prediction, target, grad_prediction);
            head.backward(head_tape, grad_prediction, grad_out);
            lstm.backward_into(tape, grad_out, grads);
            total += optim::clip_grad_norm_({&lstm, &head}, 1.0);
            optim::clip_grad_value_({&lstm, &head}, 0.5);
            adam.step();
          }) == 0);
  }
  SECTION("GRU, SGD with momentum") {
    seqnet::GRU<double> gru(seqnet::GRUOptions(8, 16), generator);
    seqnet::Linear<double> head(16, 1);
    optim::SGD<double> sgd({&gru, &head}, optim::SGDOptions().lr(0.01).momentum(0.9));
    seqnet::Tensor<double, 3> h = seqnet::Tensor<double, 3>(1, 2, 16).setZero();
    CHECK(steady_allocations([&] {
            sgd.zero_grad();
            gru.forward_train_into(tape, chunk, h, out, h);
            head.forward_train(out, prediction, head_tape);
            total += mse.forward(prediction, target, grad_prediction);
            head.backward(head_tape, grad_prediction, grad_out);
            gru.backward_into(tape, grad_out, grads);
            sgd.step();
          }) == 0);
  }
  SECTION("online: one LSTMCell step and update per sample") {
    seqnet::LSTMCell<double> cell(seqnet::LSTMCellOptions(8, 16), generator);
    seqnet::Linear<double> head(16, 1);
    optim::SGD<double> sgd({&cell, &head}, optim::SGDOptions().lr(0.01));
    const auto x = seqnet::randn<double>(8);
    const auto y = seqnet::randn<double>(1);
    seqnet::LSTMState<double, 1> state{seqnet::Tensor<double, 1>(16).setZero(), seqnet::Tensor<double, 1>(16).setZero()};
    seqnet::Tensor<double, 1> p, dp, dh;
    seqnet::Linear<double>::Tape head_tape1;
    seqnet::InputGradients<double, 1> cell_grads;
    CHECK(steady_allocations([&] {
            sgd.zero_grad();
            cell.forward_train_into(tape, x, state, state);
            head.forward_train(state.first, p, head_tape1);
            total += mse.forward(p, y, dp);
            head.backward(head_tape1, dp, dh);
            cell.backward_into(tape, dh, cell_grads);
            sgd.step();
          }) == 0);
  }
  CHECK(std::isfinite(total));
}

// Issue 13's whole model: the trained CRNN voice-activity detector of examples/crnn_vad.cpp (Conv1d,
// BatchNorm1d, ReLU, AvgPool1d, a GRU stream, Linear, Sigmoid), one 512-sample chunk at a time.
TEST_CASE("a whole conv + GRU + head model streams chunk by chunk without allocating", "[allocation][realtime]") {
  for (bool frozen : {false, true}) {
    INFO("frozen " << frozen);
    CRNNVad<float> model;
    seqnet::load_safetensors(std::string(SEQNET_EXAMPLE_DATA_DIR) + "/crnn_vad.safetensors", model);
    model.eval();
    if (frozen) model.rnn.prepack();
    CRNNVadStream<float> vad(model);
    const auto chunk = seqnet::randn<float>(CRNNVad<float>::chunk_samples);
    float probability = 0;
    CHECK(steady_allocations([&] { probability += vad.step(chunk.data()); }) == 0);
    CHECK(std::isfinite(probability));
  }
}
