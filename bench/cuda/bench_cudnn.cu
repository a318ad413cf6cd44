// seqnet's GPU modules against cuDNN's cudnnRNNForward, in the same process, on the same stream, with
// the same weights and input (the CUDA issue's benchmark). For each (mode, batch, hidden) it
//   1. builds a seeded CPU module and the seqnet::cuda module from it, and copies the same parameters
//      into cuDNN's weight space gate by gate (cudnnGetRNNWeightParams);
//   2. runs each implementation once from zero state and compares output, h_n and c_n: a cuDNN
//      algorithm that disagrees with seqnet is reported MISMATCH and not timed, and on small shapes the
//      CPU module (itself checked against PyTorch by the tests) is the referee for seqnet;
//   3. times back-to-back forward calls between CUDA events on the module's stream (median of repeats)
//      and prints µs per call, GFLOP/s and the ratio seqnet time / cuDNN time (below 1: seqnet faster).
// With --cell-step it also times one cell step at batch 1, the state carried in place (the latency case).
// Without a CUDA device it says so and exits 0. Run with --help for the flags.
#include <seqnet/cuda.hpp>

#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using seqnet::Index;

// ---------------------------------------------------------------------------------------------------
// Errors: every CUDA and cuDNN call is checked; a failure outside the "is this algorithm supported"
// probes ends the program with the library's own message.

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status) + " (" + cudaGetErrorName(status) +
                             ")");
}

std::string cudnn_message(cudnnStatus_t status, const char* call) {
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);  // cuDNN 9's explanation of the last failure, often empty
  std::string message = std::string(call) + ": " + cudnnGetErrorString(status);
  if (detail[0] != '\0') message += std::string(" (") + detail + ")";
  return message;
}

void check_cudnn(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS) throw std::runtime_error(cudnn_message(status, call));
}

#define CUDA_CHECK(expr) check_cuda((expr), #expr)
#define CUDNN_CHECK(expr) check_cudnn((expr), #expr)

// ---------------------------------------------------------------------------------------------------
// Settings from the command line

enum class Mode { LSTM, GRU, RNNTanh, RNNRelu };

struct ModeInfo {
  Mode mode;
  const char* name;
  int gates;  // PyTorch's gate count: rows of weight_ih are gates * hidden
  cudnnRNNMode_t cudnn;
};

constexpr ModeInfo mode_table[] = {{Mode::LSTM, "lstm", 4, CUDNN_LSTM},
                                   {Mode::GRU, "gru", 3, CUDNN_GRU},
                                   {Mode::RNNTanh, "rnn_tanh", 1, CUDNN_RNN_TANH},
                                   {Mode::RNNRelu, "rnn_relu", 1, CUDNN_RNN_RELU}};

struct AlgoInfo {
  cudnnRNNAlgo_t algo;
  const char* name;   // flag value
  const char* label;  // table column
};

constexpr AlgoInfo algo_table[] = {{CUDNN_RNN_ALGO_STANDARD, "standard", "std"},
                                   {CUDNN_RNN_ALGO_PERSIST_STATIC, "persist_static", "persist"},
                                   {CUDNN_RNN_ALGO_PERSIST_DYNAMIC, "persist_dynamic", "dynamic"},
                                   {CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H, "persist_static_small_h", "small_h"}};

struct Settings {
  Index seq = 50;
  std::vector<ModeInfo> modes;
  std::vector<Index> batches = {1, 4, 16, 64, 256};
  std::vector<Index> hiddens = {256, 512, 1024, 2048};
  std::vector<AlgoInfo> algos;
  int iters = 0;  // 0: chosen per shape so that one repeat lasts about target_ms
  double target_ms = 25.0;
  int repeats = 7;
  int warmup = 3;
  bool tf32 = false;
  double tolerance = -1.0;  // < 0: 1e-4 in fp32, 1e-2 with TF32
  double cpu_check_gflop = 20.0;
  bool keep_pool = true;
  bool cell_step = false;  // also time one cell step at batch 1 (the latency case)
  std::uint64_t seed = 20240601;
  std::string json;
};

const char* usage_text =
    "usage: seqnet_bench_cudnn [flags]\n"
    "  --modes=lstm,gru,rnn_tanh   recurrences (also rnn_relu)\n"
    "  --batches=1,4,16,64,256     batch sizes\n"
    "  --hiddens=256,512,1024,2048 hidden sizes (input size = hidden size)\n"
    "  --seq=50                    sequence length\n"
    "  --algos=standard,persist_static  cuDNN algorithms (also persist_dynamic, persist_static_small_h)\n"
    "  --iters=N                   forward calls per timed repeat (default: about --target-ms worth)\n"
    "  --target-ms=25              length of one repeat when --iters is not given\n"
    "  --repeats=7                 timed repeats; the median is reported\n"
    "  --warmup=3                  untimed calls before the repeats\n"
    "  --math=fp32|tf32            fp32 (default): cuDNN CUDNN_FMA_MATH, seqnet's default cuBLAS math;\n"
    "                              tf32: cuDNN CUDNN_DEFAULT_MATH and seqnet allow_tf32(true)\n"
    "  --tolerance=X               largest accepted |a - b| / max(1, max|b|) (default 1e-4, 1e-2 with tf32)\n"
    "  --cpu-check-gflop=20        also check seqnet against the CPU module up to this many GFLOP per call\n"
    "  --pool=keep|default         keep (default): the default memory pool keeps freed memory between\n"
    "                              repeats; default: CUDA's release threshold of 0\n"
    "  --seed=N                    weights and input seed\n"
    "  --cell-step                 also time one step of LSTMCell / GRUCell / RNNCell at batch 1, state\n"
    "                              carried in place (forward_into), against cuDNN with seq 1 (same hiddens)\n"
    "  --json=FILE                 also write the results as JSON\n";

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

long long parse_integer(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value <= 0) throw std::invalid_argument(flag + " takes positive integers, got '" + text + "'");
  return value;
}

double parse_number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0)) throw std::invalid_argument(flag + " takes a number >= 0, got '" + text + "'");
  return value;
}

std::vector<Index> parse_sizes(const std::string& flag, const std::string& text) {
  std::vector<Index> sizes;
  for (const auto& part : split(text)) sizes.push_back(static_cast<Index>(parse_integer(flag, part)));
  if (sizes.empty()) throw std::invalid_argument(flag + " needs at least one value");
  return sizes;
}

std::vector<ModeInfo> parse_modes(const std::string& text) {
  std::vector<ModeInfo> modes;
  for (auto name : split(text)) {
    if (name == "rnn") name = "rnn_tanh";
    const auto* found = std::find_if(std::begin(mode_table), std::end(mode_table),
                                     [&](const ModeInfo& m) { return name == m.name; });
    if (found == std::end(mode_table)) throw std::invalid_argument("unknown mode '" + name + "'");
    modes.push_back(*found);
  }
  if (modes.empty()) throw std::invalid_argument("--modes needs at least one mode");
  return modes;
}

std::vector<AlgoInfo> parse_algos(const std::string& text) {
  std::vector<AlgoInfo> algos;
  for (auto name : split(text)) {
    if (name == "static" || name == "persist") name = "persist_static";
    if (name == "dynamic") name = "persist_dynamic";
    if (name == "small_h") name = "persist_static_small_h";
    const auto* found = std::find_if(std::begin(algo_table), std::end(algo_table),
                                     [&](const AlgoInfo& a) { return name == a.name; });
    if (found == std::end(algo_table)) throw std::invalid_argument("unknown cuDNN algorithm '" + name + "'");
    algos.push_back(*found);
  }
  return algos;  // may be empty: seqnet alone
}

Settings parse(int argc, char** argv) {
  Settings s;
  s.modes = parse_modes("lstm,gru,rnn_tanh");
  s.algos = parse_algos("standard,persist_static");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--cell-step") {
      s.cell_step = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      std::exit(0);
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      throw std::invalid_argument("unrecognised argument '" + arg + "' (flags are --name=value; see --help)");
    const std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    if (key == "--modes") s.modes = parse_modes(value);
    else if (key == "--batches") s.batches = parse_sizes(key, value);
    else if (key == "--hiddens") s.hiddens = parse_sizes(key, value);
    else if (key == "--seq") s.seq = static_cast<Index>(parse_integer(key, value));
    else if (key == "--algos") s.algos = parse_algos(value);
    else if (key == "--iters") s.iters = static_cast<int>(parse_integer(key, value));
    else if (key == "--target-ms") s.target_ms = parse_number(key, value);
    else if (key == "--repeats") s.repeats = static_cast<int>(parse_integer(key, value));
    else if (key == "--warmup") s.warmup = static_cast<int>(parse_number(key, value));
    else if (key == "--tolerance") s.tolerance = parse_number(key, value);
    else if (key == "--cpu-check-gflop") s.cpu_check_gflop = parse_number(key, value);
    else if (key == "--seed") s.seed = static_cast<std::uint64_t>(parse_integer(key, value));
    else if (key == "--json") s.json = value;
    else if (key == "--math") {
      if (value != "fp32" && value != "tf32") throw std::invalid_argument("--math is fp32 or tf32");
      s.tf32 = value == "tf32";
    } else if (key == "--pool") {
      if (value != "keep" && value != "default") throw std::invalid_argument("--pool is keep or default");
      s.keep_pool = value == "keep";
    } else {
      throw std::invalid_argument("unknown flag '" + key + "' (see --help)");
    }
  }
  if (s.tolerance < 0) s.tolerance = s.tf32 ? 1e-2 : 1e-4;
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Owners of device memory and cuDNN descriptors (freed even when a check throws)

class DeviceMemory {
 public:
  DeviceMemory() = default;
  explicit DeviceMemory(std::size_t bytes) : bytes_(bytes) {
    // cudaMalloc, outside seqnet's stream-ordered pool: a seqnet result can never land in memory that
    // holds a cuDNN answer, so agreement cannot come from a leftover.
    if (bytes > 0) CUDA_CHECK(cudaMalloc(&data_, bytes));
  }
  DeviceMemory(DeviceMemory&& other) noexcept { *this = std::move(other); }
  DeviceMemory& operator=(DeviceMemory&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() {
    if (data_ != nullptr) (void)cudaFree(data_);
  }
  void* get() const { return data_; }
  float* floats() const { return static_cast<float*>(data_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

template <typename Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class CudnnObject {
 public:
  CudnnObject() { check_cudnn(Create(&handle_), "cudnnCreate*Descriptor"); }
  CudnnObject(const CudnnObject&) = delete;
  CudnnObject& operator=(const CudnnObject&) = delete;
  ~CudnnObject() { (void)Destroy(handle_); }
  Handle get() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

using CudnnHandle = CudnnObject<cudnnHandle_t, cudnnCreate, cudnnDestroy>;
using RNNDescriptor = CudnnObject<cudnnRNNDescriptor_t, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor>;
using RNNDataDescriptor =
    CudnnObject<cudnnRNNDataDescriptor_t, cudnnCreateRNNDataDescriptor, cudnnDestroyRNNDataDescriptor>;
using TensorDescriptor = CudnnObject<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using DropoutDescriptor =
    CudnnObject<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>;

// ---------------------------------------------------------------------------------------------------
// Results and their comparison

struct Outputs {
  std::vector<float> output, h_n, c_n;  // c_n empty unless LSTM
};

std::vector<float> to_vector(const seqnet::Tensor<float, 3>& t) { return {t.data(), t.data() + t.size()}; }
std::vector<float> to_vector(const seqnet::cuda::DeviceTensor<float, 3>& t, cudaStream_t stream) {
  return to_vector(t.to_host(stream));
}
std::vector<float> to_vector(const DeviceMemory& memory, std::size_t count, cudaStream_t stream) {
  std::vector<float> host(count);
  CUDA_CHECK(cudaMemcpyAsync(host.data(), memory.get(), count * sizeof(float), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

// The CPU and GPU modules' results: (output, h_n) or, for LSTM, (output, (h_n, c_n)).
template <typename Out>
Outputs outputs_of(const std::pair<Out, Out>& r, cudaStream_t stream) {
  if constexpr (std::is_same_v<Out, seqnet::Tensor<float, 3>>) return {to_vector(r.first), to_vector(r.second), {}};
  else return {to_vector(r.first, stream), to_vector(r.second, stream), {}};
}
template <typename Out>
Outputs outputs_of(const std::pair<Out, std::pair<Out, Out>>& r, cudaStream_t stream) {
  if constexpr (std::is_same_v<Out, seqnet::Tensor<float, 3>>)
    return {to_vector(r.first), to_vector(r.second.first), to_vector(r.second.second)};
  else return {to_vector(r.first, stream), to_vector(r.second.first, stream), to_vector(r.second.second, stream)};
}

/// Device addresses of a GPU module's results, which are part of its CUDA graph's key.
template <typename Out>
std::vector<const void*> addresses_of(const std::pair<Out, Out>& r) {
  return {r.first.data(), r.second.data()};
}
template <typename Out>
std::vector<const void*> addresses_of(const std::pair<Out, std::pair<Out, Out>>& r) {
  return {r.first.data(), r.second.first.data(), r.second.second.data()};
}

/// max |a - b| / max(1, max |b|): outputs and h_n lie in [-1, 1] (tanh-bounded), c_n does not. NaN,
/// or a size that differs, gives infinity (never agreement).
double relative_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0.0, scale = 1.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return worst / scale;
}

double relative_diff(const Outputs& a, const Outputs& b) {
  return std::max({relative_diff(a.output, b.output), relative_diff(a.h_n, b.h_n), relative_diff(a.c_n, b.c_n)});
}

// ---------------------------------------------------------------------------------------------------
// Timing: back-to-back calls between two events on the stream. When the host issues calls slower than
// the GPU runs them the GPU waits, and the events see it: the figure is calls per second as a program
// calling in a loop gets them, host overhead included.

template <typename Call>
double time_call_us(cudaStream_t stream, int iters, Call&& call) {
  cudaEvent_t start = nullptr, stop = nullptr;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  float ms = 0.0f;
  try {
    CUDA_CHECK(cudaEventRecord(start, stream));
    for (int i = 0; i < iters; ++i) call();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  } catch (...) {
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
    throw;
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return 1000.0 * static_cast<double>(ms) / iters;
}

/// Median µs per call over `repeats` runs of `iters` calls.
template <typename Call>
double median_us(cudaStream_t stream, const Settings& s, int iters, Call&& call) {
  std::vector<double> times;
  for (int r = 0; r < s.repeats; ++r) times.push_back(time_call_us(stream, iters, call));
  std::sort(times.begin(), times.end());
  const std::size_t n = times.size();
  return n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

// ---------------------------------------------------------------------------------------------------
// cuDNN's RNN for one shape and algorithm

/// What one cuDNN algorithm gave for a shape: µs per call, or why there is no number.
struct AlgoResult {
  std::string status = "n/a";  // "ok", "n/a" (cuDNN refused), "MISMATCH", "untimed" (seqnet was wrong)
  std::string note;            // cuDNN's reason, or the disagreement
  double us = 0.0;
  double diff = NAN;  // against seqnet
};

class CudnnRNN {
 public:
  CudnnRNN(cudnnHandle_t handle, const ModeInfo& mode, cudnnRNNAlgo_t algo, bool tf32, Index seq, Index batch,
           Index hidden)
      : handle_(handle), mode_(mode), algo_(algo), tf32_(tf32), seq_(seq), batch_(batch), hidden_(hidden) {}

  /// Describes the RNN, fills the weight space from the seqnet module's parameters and allocates the
  /// work space. Returns cuDNN's reason when it does not support this algorithm for the shape (an empty
  /// string when it does); any other failure throws.
  template <typename Gpu>
  std::string prepare(const Gpu& module, cudaStream_t stream) {
    const int in = narrow(hidden_), hidden = narrow(hidden_);
    // No dropout (one layer, inference), set up as PyTorch does for that case.
    CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout_.get(), handle_, 0.0f, nullptr, 0, 0));
    // fp32 compares like with like: CUDNN_DEFAULT_MATH lets cuDNN run fp32 products as TF32 on Ampere
    // and newer (PyTorch picks it when torch.backends.cudnn.allow_tf32 is set), CUDNN_FMA_MATH does not.
    // projSize = hiddenSize means no projection; unpacked (padded) data layouts such as
    // SEQ_MAJOR_UNPACKED are only accepted with CUDNN_RNN_PADDED_IO_ENABLED.
    const cudnnMathType_t math = tf32_ ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (auto why = probe(cudnnSetRNNDescriptor_v8(rnn_.get(), algo_, mode_.cudnn, CUDNN_RNN_DOUBLE_BIAS,
                                                  CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
                                                  CUDNN_DATA_FLOAT, math, in, hidden, hidden, 1, dropout_.get(),
                                                  CUDNN_RNN_PADDED_IO_ENABLED),
                         "cudnnSetRNNDescriptor_v8"))
      return *why;
    if (algo_ == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) {
      // Compiles the persistent kernel for this batch size (seconds, once, untimed).
      if (auto why = probe(cudnnBuildRNNDynamic(handle_, rnn_.get(), narrow(batch_)), "cudnnBuildRNNDynamic"))
        return *why;
    }

    const std::vector<int> lengths(static_cast<std::size_t>(batch_), narrow(seq_));
    float padding = 0.0f;
    CUDNN_CHECK(cudnnSetRNNDataDescriptor(x_desc_.get(), CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                          narrow(seq_), narrow(batch_), in, lengths.data(), &padding));
    CUDNN_CHECK(cudnnSetRNNDataDescriptor(y_desc_.get(), CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                          narrow(seq_), narrow(batch_), hidden, lengths.data(), &padding));
    const int dims[3] = {1, narrow(batch_), hidden}, strides[3] = {narrow(batch_) * hidden, hidden, 1};
    CUDNN_CHECK(cudnnSetTensorNdDescriptor(h_desc_.get(), CUDNN_DATA_FLOAT, 3, dims, strides));
    seq_lengths_ = DeviceMemory(lengths.size() * sizeof(int));
    CUDA_CHECK(cudaMemcpy(seq_lengths_.get(), lengths.data(), seq_lengths_.bytes(), cudaMemcpyHostToDevice));

    std::size_t weight_bytes = 0;
    if (auto why = probe(cudnnGetRNNWeightSpaceSize(handle_, rnn_.get(), &weight_bytes), "cudnnGetRNNWeightSpaceSize"))
      return *why;
    weights_ = DeviceMemory(weight_bytes);
    // Zeroed first (as PyTorch's buffer is): a gate the loop below missed gives a wrong answer, which the
    // comparison with seqnet reports, while padding cuDNN may keep in the space stays harmless.
    CUDA_CHECK(cudaMemsetAsync(weights_.get(), 0, weight_bytes, stream));
    copy_weights(module, stream);

    std::size_t work_bytes = 0, reserve_bytes = 0;
    if (auto why = probe(cudnnGetRNNTempSpaceSizes(handle_, rnn_.get(), CUDNN_FWD_MODE_INFERENCE, x_desc_.get(),
                                                   &work_bytes, &reserve_bytes),
                         "cudnnGetRNNTempSpaceSizes"))
      return *why;
    work_ = DeviceMemory(work_bytes);
    reserve_ = DeviceMemory(reserve_bytes);  // zero in inference mode; allocated anyway if cuDNN asks
    CUDA_CHECK(cudaStreamSynchronize(stream));
    return {};
  }

  /// One forward pass on the handle's stream, from `hx`, `cx` (null: zero state).
  cudnnStatus_t forward(const float* x, float* y, float* hy, float* cy, const float* hx = nullptr,
                        const float* cx = nullptr) const {
    const bool lstm = mode_.mode == Mode::LSTM;
    return cudnnRNNForward(handle_, rnn_.get(), CUDNN_FWD_MODE_INFERENCE, static_cast<const int32_t*>(seq_lengths_.get()),
                           x_desc_.get(), x, y_desc_.get(), y, h_desc_.get(), hx, hy, h_desc_.get(), lstm ? cx : nullptr,
                           lstm ? cy : nullptr, weights_.bytes(), weights_.get(), work_.bytes(), work_.get(),
                           reserve_.bytes(), reserve_.get());
  }

  std::optional<std::string> probe(cudnnStatus_t status, const char* call) const {
    if (status == CUDNN_STATUS_SUCCESS) return std::nullopt;
    return cudnn_message(status, call);
  }

 private:
  static int narrow(Index value) {
    if (value > std::numeric_limits<int>::max()) throw std::invalid_argument("size exceeds cuDNN's int range");
    return static_cast<int>(value);
  }

  /// cuDNN's pseudo-layer 0 has 2G linear layers: ids 0..G-1 multiply the input, G..2G-1 the hidden
  /// state, gate by gate in PyTorch's order (LSTM i, f, g, o; GRU r, z, n; the same order PyTorch's
  /// own cuDNN path relies on when it views its parameters inside cuDNN's weight space). Each matrix is
  /// hidden x columns, row-major, i.e. one gate's block of rows of weight_ih / weight_hh; each bias is
  /// that gate's slice of bias_ih / bias_hh.
  template <typename Gpu>
  void copy_weights(const Gpu& module, cudaStream_t stream) {
    // A cell's parameters are PyTorch's `weight_ih`, ...; a one-layer module's `weight_ih_l0`, ...
    const std::string suffix = module.spec().is_cell ? "" : "_l0";
    const auto weight_ih = module.parameter("weight_ih" + suffix), weight_hh = module.parameter("weight_hh" + suffix);
    const auto bias_ih = module.parameter("bias_ih" + suffix), bias_hh = module.parameter("bias_hh" + suffix);
    const int gates = mode_.gates;
    for (int id = 0; id < 2 * gates; ++id) {
      const bool recurrent = id >= gates;
      const Index gate = recurrent ? id - gates : id;
      const Index columns = hidden_;  // input size = hidden size in this benchmark
      const float* matrix = (recurrent ? weight_hh : weight_ih).data + gate * hidden_ * columns;
      const float* bias = (recurrent ? bias_hh : bias_ih).data + gate * hidden_;

      TensorDescriptor m_desc, b_desc;
      void* m_addr = nullptr;
      void* b_addr = nullptr;
      CUDNN_CHECK(cudnnGetRNNWeightParams(handle_, rnn_.get(), 0, weights_.bytes(), weights_.get(), id, m_desc.get(),
                                          &m_addr, b_desc.get(), &b_addr));
      expect_elements(m_desc, hidden_ * columns, id, "matrix");
      expect_elements(b_desc, hidden_, id, "bias");
      CUDA_CHECK(cudaMemcpyAsync(m_addr, matrix, static_cast<std::size_t>(hidden_ * columns) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, stream));
      CUDA_CHECK(cudaMemcpyAsync(b_addr, bias, static_cast<std::size_t>(hidden_) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, stream));
    }
  }

  static void expect_elements(const TensorDescriptor& desc, Index expected, int id, const char* what) {
    cudnnDataType_t type{};
    int rank = 0, dims[8] = {}, strides[8] = {};
    CUDNN_CHECK(cudnnGetTensorNdDescriptor(desc.get(), 8, &type, &rank, dims, strides));
    Index elements = 1;
    for (int i = 0; i < rank; ++i) elements *= dims[i];
    if (type != CUDNN_DATA_FLOAT || elements != expected)
      throw std::runtime_error("cudnnGetRNNWeightParams: linear layer " + std::to_string(id) + " " + what + " has " +
                               std::to_string(elements) + " elements, expected " + std::to_string(expected));
  }

  cudnnHandle_t handle_;
  ModeInfo mode_;
  cudnnRNNAlgo_t algo_;
  bool tf32_;
  Index seq_, batch_, hidden_;
  RNNDescriptor rnn_;
  DropoutDescriptor dropout_;
  RNNDataDescriptor x_desc_, y_desc_;
  TensorDescriptor h_desc_;
  DeviceMemory seq_lengths_, weights_, work_, reserve_;
};

// ---------------------------------------------------------------------------------------------------
// One (mode, batch, hidden)

struct Row {
  explicit Row(const ModeInfo& m, bool is_cell = false) : mode(m), cell(is_cell) {}
  ModeInfo mode;
  bool cell = false;  // one cell step (seq 1), state carried in place
  Index batch = 0, hidden = 0, seq = 0;
  double flops = 0.0;
  int iters = 0;
  std::string seqnet_status = "ok";  // "ok" or "MISMATCH" (against the CPU module)
  double seqnet_us = NAN, nograph_us = NAN;
  double cpu_diff = NAN;      // seqnet against the CPU module, when checked
  double nograph_diff = NAN;  // graphs off against graphs on
  bool graph_stable = true;   // every timed call's results had the same addresses, so the graph replayed
  std::vector<AlgoResult> algos;
  std::vector<std::string> notes;
};

std::uint64_t seed_for(const Settings& s, const ModeInfo& mode, Index batch, Index hidden) {
  std::uint64_t h = 1469598103934665603ULL ^ s.seed;  // FNV-1a: stable across runs and platforms
  const std::string name = std::string(mode.name) + "/" + std::to_string(s.seq) + "/" + std::to_string(batch) + "/" +
                           std::to_string(hidden);
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return h;
}

template <typename Type>
struct Tag {
  using type = Type;
};

/// Calls `f(cpu, gpu)` with the seeded CPU module of `mode` (a cell when `Cells`) and the seqnet::cuda
/// module built from it, both in eval mode.
template <bool Cells, typename F>
void with_modules(const ModeInfo& mode, Index hidden, seqnet::Generator& generator, F&& f) {
  auto run = [&](auto cpu_tag, auto gpu_tag, const auto& options) {
    typename decltype(cpu_tag)::type cpu(options, generator);
    cpu.eval();
    typename decltype(gpu_tag)::type gpu(cpu);
    gpu.eval();
    f(cpu, gpu);
  };
  const auto nonlinearity = mode.mode == Mode::RNNRelu ? seqnet::Nonlinearity::Relu : seqnet::Nonlinearity::Tanh;
  if constexpr (Cells) {
    if (mode.mode == Mode::LSTM) run(Tag<seqnet::LSTMCell<float>>{}, Tag<seqnet::cuda::LSTMCell<float>>{}, seqnet::LSTMCellOptions(hidden, hidden));
    if (mode.mode == Mode::GRU) run(Tag<seqnet::GRUCell<float>>{}, Tag<seqnet::cuda::GRUCell<float>>{}, seqnet::GRUCellOptions(hidden, hidden));
    if (mode.mode == Mode::RNNTanh || mode.mode == Mode::RNNRelu)
      run(Tag<seqnet::RNNCell<float>>{}, Tag<seqnet::cuda::RNNCell<float>>{},
          seqnet::RNNCellOptions(hidden, hidden).nonlinearity(nonlinearity));
  } else {
    if (mode.mode == Mode::LSTM) run(Tag<seqnet::LSTM<float>>{}, Tag<seqnet::cuda::LSTM<float>>{}, seqnet::LSTMOptions(hidden, hidden));
    if (mode.mode == Mode::GRU) run(Tag<seqnet::GRU<float>>{}, Tag<seqnet::cuda::GRU<float>>{}, seqnet::GRUOptions(hidden, hidden));
    if (mode.mode == Mode::RNNTanh || mode.mode == Mode::RNNRelu)
      run(Tag<seqnet::RNN<float>>{}, Tag<seqnet::cuda::RNN<float>>{}, seqnet::RNNOptions(hidden, hidden).nonlinearity(nonlinearity));
  }
}

std::string format_diff(double d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1e", d);
  return text;
}

/// Points a cuDNN handle at a module's stream for one shape, and back at the default stream afterwards: a
/// module's stream may be one that dies with it (a stream set with `set_stream`).
class CudnnOnStream {
 public:
  CudnnOnStream(cudnnHandle_t handle, cudaStream_t stream) : handle_(handle) {
    CUDNN_CHECK(cudnnSetStream(handle, stream));
  }
  CudnnOnStream(const CudnnOnStream&) = delete;
  CudnnOnStream& operator=(const CudnnOnStream&) = delete;
  ~CudnnOnStream() { (void)cudnnSetStream(handle_, nullptr); }

 private:
  cudnnHandle_t handle_;
};

template <typename Cpu, typename Gpu>
void run_shape(const Settings& s, cudnnHandle_t cudnn, Row& row, const Cpu& cpu, Gpu& gpu,
               seqnet::Generator& generator) {
  const cudaStream_t stream = gpu.stream();
  if (s.tf32) gpu.allow_tf32(true);
  const CudnnOnStream on_stream(cudnn, stream);

  // Input from N(0, 1), shared by every implementation: [seq, batch, input], which is also cuDNN's
  // SEQ_MAJOR_UNPACKED layout.
  seqnet::Tensor<float, 3> x(row.seq, row.batch, row.hidden);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(generator.normal());
  const auto x_dev = seqnet::cuda::to_device(x, stream);

  // --- correctness first: seqnet (graphs on and off), the CPU module on small shapes, then each cuDNN
  // algorithm against seqnet.
  const Outputs reference = outputs_of(gpu(x_dev), stream);
  gpu.use_cuda_graphs(false);
  row.nograph_diff = relative_diff(outputs_of(gpu(x_dev), stream), reference);
  gpu.use_cuda_graphs(true);
  std::optional<Outputs> cpu_outputs;
  if (row.flops <= s.cpu_check_gflop * 1e9) {
    cpu_outputs = outputs_of(cpu(x), stream);
    row.cpu_diff = relative_diff(reference, *cpu_outputs);
    if (!(row.cpu_diff <= s.tolerance)) {
      row.seqnet_status = "MISMATCH";
      row.notes.push_back("seqnet differs from the CPU module by " + format_diff(row.cpu_diff) + " (relative)");
    }
  }
  if (!(row.nograph_diff <= s.tolerance)) {
    row.seqnet_status = "MISMATCH";
    row.notes.push_back("seqnet with CUDA graphs off differs from graphs on by " + format_diff(row.nograph_diff));
  }

  const std::size_t y_count = static_cast<std::size_t>(row.seq * row.batch * row.hidden),
                    h_count = static_cast<std::size_t>(row.batch * row.hidden);
  const DeviceMemory y(y_count * sizeof(float)), hy(h_count * sizeof(float)), cy(h_count * sizeof(float));
  const bool lstm = !reference.c_n.empty();
  std::vector<std::unique_ptr<CudnnRNN>> rnns;
  for (const AlgoInfo& info : s.algos) {
    AlgoResult result;
    auto rnn = std::make_unique<CudnnRNN>(cudnn, row.mode, info.algo, s.tf32, row.seq, row.batch, row.hidden);
    std::string why = rnn->prepare(gpu, stream);
    if (why.empty()) {
      for (const DeviceMemory* out : {&y, &hy, &cy})  // NaN, so an output cuDNN skipped cannot agree
        CUDA_CHECK(cudaMemsetAsync(out->get(), 0xFF, out->bytes(), stream));
      if (auto failed = rnn->probe(rnn->forward(x_dev.data(), y.floats(), hy.floats(), cy.floats()), "cudnnRNNForward"))
        why = *failed;
    }
    if (!why.empty()) {
      result.note = why;
      row.notes.push_back(std::string("cuDNN ") + info.name + ": n/a: " + why);
    } else {
      Outputs theirs{to_vector(y, y_count, stream), to_vector(hy, h_count, stream), {}};
      if (lstm) theirs.c_n = to_vector(cy, h_count, stream);
      result.diff = relative_diff(theirs, reference);
      result.status = result.diff <= s.tolerance ? "ok" : "MISMATCH";
      if (result.status != "ok") {
        result.note = "differs from seqnet by " + format_diff(result.diff) + " (relative)";
        // With the CPU module as referee the note says which side is wrong.
        if (cpu_outputs)
          result.note += "; seqnet vs CPU " + format_diff(row.cpu_diff) + ", cuDNN vs CPU " +
                         format_diff(relative_diff(theirs, *cpu_outputs));
        row.notes.push_back(std::string("cuDNN ") + info.name + ": MISMATCH: " + result.note);
      }
    }
    row.algos.push_back(result);
    rnns.push_back(std::move(rnn));
  }
  if (row.seqnet_status != "ok") {  // ratios against a wrong answer mean nothing
    for (auto& a : row.algos)
      if (a.status == "ok") a.status = "untimed";
    return;
  }

  // --- timing. Each call's results die at once, so the stream-ordered pool should hand the next call
  // the same addresses and seqnet's CUDA graph replay; whether it did is checked (graph_stable), since
  // a changed address means a re-capture inside the timed loop.
  std::vector<const void*> last_addresses;
  auto seqnet_call = [&] {
    const auto result = gpu(x_dev);
    auto addresses = addresses_of(result);
    if (!last_addresses.empty() && addresses != last_addresses) row.graph_stable = false;
    last_addresses = std::move(addresses);
  };
  auto warm_up = [&](auto&& call) {
    for (int i = 0; i < s.warmup; ++i) call();
  };
  warm_up(seqnet_call);
  row.iters = s.iters;
  if (row.iters == 0) {
    const double once = time_call_us(stream, 3, seqnet_call);
    row.iters = static_cast<int>(std::clamp(std::ceil(s.target_ms * 1000.0 / std::max(once, 1e-3)), 3.0, 2000.0));
  }
  row.graph_stable = true;  // judged on the timed calls only
  row.seqnet_us = median_us(stream, s, row.iters, seqnet_call);
  if (!row.graph_stable)
    row.notes.push_back("(*) seqnet's result addresses changed between timed calls, so its CUDA graph was "
                        "re-captured (the time includes that)");
  gpu.use_cuda_graphs(false);
  auto nograph_call = [&] { (void)gpu(x_dev); };
  warm_up(nograph_call);
  row.nograph_us = median_us(stream, s, row.iters, nograph_call);
  gpu.use_cuda_graphs(true);

  for (std::size_t a = 0; a < rnns.size(); ++a) {
    AlgoResult& result = row.algos[a];
    if (result.status != "ok") continue;
    const CudnnRNN& rnn = *rnns[a];
    auto cudnn_call = [&] { CUDNN_CHECK(rnn.forward(x_dev.data(), y.floats(), hy.floats(), cy.floats())); };
    warm_up(cudnn_call);
    result.us = median_us(stream, s, row.iters, cudnn_call);
  }
}


/// One step of a cell at batch 1, as a real-time loop runs it: seqnet's `forward_into(state, x, state)`
/// (the state carried in place, so its CUDA graph replays) against cuDNN's forward with seq 1, its
/// state ping-ponging between two buffers. Checked first from the same random state.
template <typename Cpu, typename Gpu>
void run_cell_step(const Settings& s, cudnnHandle_t cudnn, Row& row, const Cpu& cpu, Gpu& gpu,
                   seqnet::Generator& generator) {
  constexpr bool lstm = std::is_same_v<Gpu, seqnet::cuda::LSTMCell<float>>;
  const cudaStream_t stream = gpu.stream();
  if (s.tf32) gpu.allow_tf32(true);
  const CudnnOnStream on_stream(cudnn, stream);

  const Index H = row.hidden;
  seqnet::Tensor<float, 2> x(1, H), h(1, H), c(1, H);
  for (auto* t : {&x, &h, &c})
    for (Index i = 0; i < t->size(); ++i) t->data()[i] = static_cast<float>(generator.normal());
  const auto x_dev = seqnet::cuda::to_device(x, stream);
  const auto h_dev = seqnet::cuda::to_device(h, stream), c_dev = seqnet::cuda::to_device(c, stream);
  const auto flat = [](const seqnet::Tensor<float, 2>& t) { return std::vector<float>(t.data(), t.data() + t.size()); };

  // --- correctness: one step from (h, c), seqnet against the CPU cell and cuDNN against seqnet.
  Outputs reference, expected;
  if constexpr (lstm) {
    auto [h1, c1] = gpu(x_dev, {h_dev, c_dev});
    const auto h1_host = flat(h1.to_host(stream));
    reference = {h1_host, h1_host, flat(c1.to_host(stream))};
    auto [h1_cpu, c1_cpu] = cpu(x, {h, c});
    expected = {flat(h1_cpu), flat(h1_cpu), flat(c1_cpu)};
  } else {
    const auto h1 = flat(gpu(x_dev, h_dev).to_host(stream));
    reference = {h1, h1, {}};
    const auto h1_cpu = flat(cpu(x, h));
    expected = {h1_cpu, h1_cpu, {}};
  }
  row.cpu_diff = relative_diff(reference, expected);
  if (!(row.cpu_diff <= s.tolerance)) {
    row.seqnet_status = "MISMATCH";
    row.notes.push_back("seqnet's cell differs from the CPU cell by " + format_diff(row.cpu_diff) + " (relative)");
  }

  const std::size_t count = static_cast<std::size_t>(H);
  const DeviceMemory y(count * sizeof(float));
  DeviceMemory hs[2] = {DeviceMemory(count * sizeof(float)), DeviceMemory(count * sizeof(float))};
  DeviceMemory cs[2] = {DeviceMemory(count * sizeof(float)), DeviceMemory(count * sizeof(float))};
  std::vector<std::unique_ptr<CudnnRNN>> rnns;
  for (const AlgoInfo& info : s.algos) {
    AlgoResult result;
    auto rnn = std::make_unique<CudnnRNN>(cudnn, row.mode, info.algo, s.tf32, 1, 1, H);
    std::string why = rnn->prepare(gpu, stream);
    if (why.empty()) {
      CUDA_CHECK(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), stream));
      CUDA_CHECK(cudaMemsetAsync(hs[1].get(), 0xFF, hs[1].bytes(), stream));
      CUDA_CHECK(cudaMemsetAsync(cs[1].get(), 0xFF, cs[1].bytes(), stream));
      CUDA_CHECK(cudaMemcpyAsync(hs[0].get(), h_dev.data(), hs[0].bytes(), cudaMemcpyDeviceToDevice, stream));
      CUDA_CHECK(cudaMemcpyAsync(cs[0].get(), c_dev.data(), cs[0].bytes(), cudaMemcpyDeviceToDevice, stream));
      if (auto failed = rnn->probe(rnn->forward(x_dev.data(), y.floats(), hs[1].floats(), cs[1].floats(),
                                                hs[0].floats(), cs[0].floats()),
                                   "cudnnRNNForward"))
        why = *failed;
    }
    if (!why.empty()) {
      result.note = why;
      row.notes.push_back(std::string("cuDNN ") + info.name + ": n/a: " + why);
    } else {
      Outputs theirs{to_vector(y, count, stream), to_vector(hs[1], count, stream), {}};
      if (lstm) theirs.c_n = to_vector(cs[1], count, stream);
      result.diff = relative_diff(theirs, reference);
      result.status = result.diff <= s.tolerance ? "ok" : "MISMATCH";
      if (result.status != "ok") {
        result.note = "differs from seqnet by " + format_diff(result.diff) + " (relative)";
        row.notes.push_back(std::string("cuDNN ") + info.name + ": MISMATCH: " + result.note);
      }
    }
    row.algos.push_back(result);
    rnns.push_back(std::move(rnn));
  }
  if (row.seqnet_status != "ok") {
    for (auto& a : row.algos)
      if (a.status == "ok") a.status = "untimed";
    return;
  }

  // --- timing: a stepping loop; seqnet writes the new state over the old one.
  auto state = [&] {
    if constexpr (lstm) {
      return seqnet::cuda::LSTMState<float, 2>(seqnet::cuda::to_device(h, stream), seqnet::cuda::to_device(c, stream));
    } else {
      return seqnet::cuda::to_device(h, stream);
    }
  }();
  auto seqnet_step = [&] { gpu.forward_into(state, x_dev, state); };
  for (int i = 0; i < s.warmup + 2; ++i) seqnet_step();  // a key seen twice is captured: replay from here on
  row.iters = s.iters;
  if (row.iters == 0) {
    const double once = time_call_us(stream, 3, seqnet_step);
    row.iters = static_cast<int>(std::clamp(std::ceil(s.target_ms * 1000.0 / std::max(once, 1e-3)), 3.0, 20000.0));
  }
  row.seqnet_us = median_us(stream, s, row.iters, seqnet_step);
  gpu.use_cuda_graphs(false);
  for (int i = 0; i < s.warmup; ++i) seqnet_step();
  row.nograph_us = median_us(stream, s, row.iters, seqnet_step);
  gpu.use_cuda_graphs(true);

  for (std::size_t a = 0; a < rnns.size(); ++a) {
    AlgoResult& result = row.algos[a];
    if (result.status != "ok") continue;
    int from = 0;
    auto cudnn_step = [&] {
      CUDNN_CHECK(rnns[a]->forward(x_dev.data(), y.floats(), hs[1 - from].floats(), cs[1 - from].floats(),
                                   hs[from].floats(), cs[from].floats()));
      from = 1 - from;
    };
    for (int i = 0; i < s.warmup; ++i) cudnn_step();
    result.us = median_us(stream, s, row.iters, cudnn_step);
  }
}

// ---------------------------------------------------------------------------------------------------
// Output

double gflops(double flops, double us) { return flops / (us * 1e3); }

std::string fixed(double value, int digits) {
  if (std::isnan(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

/// The issue's targets, for the default seqnet (CUDA graphs on): batch >= 64 at least 0.8x the best
/// cuDNN algorithm's throughput (time ratio <= 1.25); batch <= 4 faster than cuDNN's standard algorithm.
std::string target(const Settings& s, const Row& row) {
  if (row.seqnet_status != "ok") return "-";
  if (row.batch >= 64) {
    double best = INFINITY;
    for (const auto& a : row.algos)
      if (a.status == "ok") best = std::min(best, a.us);
    if (!std::isfinite(best)) return "-";
    return row.seqnet_us <= 1.25 * best ? "met" : "MISSED";
  }
  if (row.batch <= 4) {
    for (std::size_t i = 0; i < s.algos.size(); ++i)
      if (s.algos[i].algo == CUDNN_RNN_ALGO_STANDARD && row.algos[i].status == "ok")
        return row.seqnet_us < row.algos[i].us ? "met" : "MISSED";
  }
  return "-";
}

void print_header(const Settings& s) {
  std::cout << "| mode | batch | hidden | seqnet µs | no-graph µs |";
  for (const auto& a : s.algos) std::cout << " cuDNN " << a.label << " µs |";
  std::cout << " seqnet GFLOP/s |";
  for (const auto& a : s.algos) std::cout << " seqnet/" << a.label << " |";
  std::cout << " target | diff cuDNN | diff CPU |\n|---|--:|--:|--:|--:|";
  for (std::size_t i = 0; i < s.algos.size(); ++i) std::cout << "--:|";
  std::cout << "--:|";
  for (std::size_t i = 0; i < s.algos.size(); ++i) std::cout << "--:|";
  std::cout << ":-:|--:|--:|\n";
}

void print_row(const Settings& s, const Row& row) {
  const bool ok = row.seqnet_status == "ok";
  std::cout << "| " << row.mode.name << (row.cell ? " cell" : "") << " | " << row.batch << " | " << row.hidden << " | "
            << (ok ? fixed(row.seqnet_us, 1) + (row.graph_stable ? "" : "*") : row.seqnet_status) << " | " << fixed(row.nograph_us, 1) << " |";
  for (const auto& a : row.algos) std::cout << " " << (a.status == "ok" ? fixed(a.us, 1) : a.status) << " |";
  std::cout << " " << (ok ? fixed(gflops(row.flops, row.seqnet_us), 1) : "-") << " |";
  for (const auto& a : row.algos)
    std::cout << " " << (ok && a.status == "ok" ? fixed(row.seqnet_us / a.us, 2) + "x" : "-") << " |";
  double worst = NAN;
  for (const auto& a : row.algos)
    if (!std::isnan(a.diff)) worst = std::isnan(worst) ? a.diff : std::max(worst, a.diff);
  std::cout << " " << target(s, row) << " | " << (std::isnan(worst) ? "-" : format_diff(worst)) << " | "
            << (std::isnan(row.cpu_diff) ? "-" : format_diff(row.cpu_diff)) << " |" << std::endl;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

void write_json(const std::string& path, const Settings& s, const std::string& gpu_name, int cudnn_version,
                const std::vector<Row>& rows) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "{\n  \"gpu\": " << json_string(gpu_name) << ",\n  \"cudnn_version\": " << cudnn_version
      << ",\n  \"math\": \"" << (s.tf32 ? "tf32" : "fp32") << "\",\n  \"tolerance\": " << json_number(s.tolerance)
      << ",\n  \"repeats\": " << s.repeats << ",\n  \"results\": [";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    out << (r == 0 ? "\n" : ",\n") << "    {\"mode\": " << json_string(row.mode.name)
        << ", \"cell_step\": " << (row.cell ? "true" : "false") << ", \"seq\": " << row.seq
        << ", \"batch\": " << row.batch << ", \"hidden\": " << row.hidden << ", \"input\": " << row.hidden
        << ", \"flops\": " << json_number(row.flops) << ", \"iters\": " << row.iters
        << ", \"seqnet_status\": " << json_string(row.seqnet_status) << ", \"seqnet_us\": " << json_number(row.seqnet_us)
        << ", \"seqnet_nograph_us\": " << json_number(row.nograph_us)
        << ", \"seqnet_graph_stable\": " << (row.graph_stable ? "true" : "false")
        << ", \"diff_cpu\": " << json_number(row.cpu_diff) << ", \"diff_nograph\": " << json_number(row.nograph_diff)
        << ", \"target\": " << json_string(target(s, row)) << ", \"cudnn\": {";
    for (std::size_t a = 0; a < row.algos.size(); ++a) {
      const AlgoResult& res = row.algos[a];
      out << (a == 0 ? "" : ", ") << json_string(s.algos[a].name) << ": {\"status\": " << json_string(res.status)
          << ", \"us\": " << json_number(res.status == "ok" ? res.us : NAN) << ", \"diff\": " << json_number(res.diff)
          << ", \"note\": " << json_string(res.note) << "}";
    }
    out << "}}";
  }
  out << "\n  ]\n}\n";
}

int run(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  if (seqnet::cuda::device_count() == 0) {
    std::cout << "no CUDA device: nothing to time" << std::endl;
    return 0;
  }
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  int runtime = 0, driver = 0;
  CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  CUDA_CHECK(cudaDriverGetVersion(&driver));
  const int cudnn_version = static_cast<int>(cudnnGetVersion());

  cudaMemPool_t pool = nullptr;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  if (s.keep_pool) {
    // seqnet allocates each call's results with cudaMallocAsync. With CUDA's default release threshold
    // (0) every synchronisation, such as the one ending a timed repeat, hands the freed memory back to
    // the OS, and the next call maps it again (possibly at a new address, which re-captures the graph).
    // Keeping it is what a serving loop would configure; --pool=default measures the other case.
    std::uint64_t keep = std::numeric_limits<std::uint64_t>::max();
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  }

  CudnnHandle cudnn;
  std::cout << "GPU: " << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount
            << " SMs), CUDA runtime " << runtime / 1000 << "." << (runtime % 1000) / 10 << ", driver "
            << driver / 1000 << "." << (driver % 1000) / 10 << ", cuDNN " << cudnn_version / 10000 << "."
            << (cudnn_version % 10000) / 100 << "." << cudnn_version % 100 << "\n"
            << "fp32 forward (inference), 1 layer, unidirectional, input = hidden, seq " << s.seq << ", zero initial state; "
            << (s.tf32 ? "TF32 allowed (cuDNN DEFAULT_MATH, seqnet allow_tf32)" : "no TF32 (cuDNN FMA_MATH, seqnet default)")
            << "; median of " << s.repeats << " repeats; tolerance " << format_diff(s.tolerance)
            << "; ratios are seqnet time / cuDNN time (below 1: seqnet faster)\n\n";
  print_header(s);

  std::vector<Row> rows;
  for (const ModeInfo& mode : s.modes) {
    for (Index hidden : s.hiddens) {
      for (Index batch : s.batches) {
        Row row(mode);
        row.batch = batch, row.hidden = hidden, row.seq = s.seq;
        row.flops = 2.0 * static_cast<double>(s.seq) * static_cast<double>(batch) * mode.gates *
                    static_cast<double>(hidden) * static_cast<double>(hidden + hidden);
        seqnet::Generator generator(seed_for(s, mode, batch, hidden));
        with_modules<false>(mode, hidden, generator, [&](const auto& cpu, auto& gpu) {
          run_shape(s, cudnn.get(), row, cpu, gpu, generator);
        });
        // Everything of this shape is freed (the module's destructor synchronised its stream); return the
        // pool's memory so the largest shapes do not accumulate.
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
        print_row(s, row);
        rows.push_back(std::move(row));
      }
    }
  }

  if (s.cell_step) {
    std::cout << "\nOne cell step at batch 1 (seq 1), the state carried in place; cuDNN with seq 1:\n\n";
    print_header(s);
    for (const ModeInfo& mode : s.modes) {
      for (Index hidden : s.hiddens) {
        Row row(mode, true);
        row.batch = 1, row.hidden = hidden, row.seq = 1;
        row.flops = 2.0 * mode.gates * static_cast<double>(hidden) * static_cast<double>(hidden + hidden);
        seqnet::Generator generator(seed_for(s, mode, 0, hidden));
        with_modules<true>(mode, hidden, generator, [&](const auto& cpu, auto& gpu) {
          run_cell_step(s, cudnn.get(), row, cpu, gpu, generator);
        });
        CUDA_CHECK(cudaDeviceSynchronize());
        print_row(s, row);
        rows.push_back(std::move(row));
      }
    }
  }

  bool any_note = false;
  for (const Row& row : rows)
    for (const auto& note : row.notes) {
      if (!any_note) std::cout << "\nNotes:\n";
      any_note = true;
      std::cout << "- " << row.mode.name << (row.cell ? " cell" : "") << " batch " << row.batch << " hidden " << row.hidden << ": " << note << "\n";
    }
  if (!s.json.empty()) write_json(s.json, s, prop.name, cudnn_version, rows);
  std::cout.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "seqnet_bench_cudnn: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "seqnet_bench_cudnn: error: " << e.what() << std::endl;
    return 1;
  }
}
