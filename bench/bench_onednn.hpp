// oneDNN as a peer: the same module built from seqnet's PyTorch-layout weights as oneDNN RNN
// primitives (`vanilla_rnn_forward`, `lstm_forward`, `lbr_gru_forward`), and oneDNN's sgemm as the
// machine's fp32 GEMM rate. Primitives, weight reorders and buffers are made once, at construction, so
// `Network::run` times only the primitives' execution. oneDNN is optional: without it
// (SEQNET_BENCH_HAVE_DNNL unset) this header declares nothing and the bench reports the peer absent.
#pragma once

#if SEQNET_BENCH_HAVE_DNNL

#include <dlfcn.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "bench_common.hpp"

namespace bench::onednn {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;

inline dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}
inline dnnl::stream& stream() {
  static dnnl::stream cpu_stream(engine());
  return cpu_stream;
}

inline std::string version() {
  const dnnl_version_t* v = dnnl_version();
  std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  const std::string hash = v->hash != nullptr ? v->hash : "";
  return hash.empty() || hash == "N/A" ? text : text + " (" + hash + ")";
}

// oneDNN (as Debian builds it) runs on OpenMP. libgomp reads OMP_NUM_THREADS when it is loaded, before
// main, so the thread count of this run is set through omp_set_num_threads, looked up at run time from
// the libgomp that libdnnl already loaded: the bench itself is not built with -fopenmp, which would also
// turn on Eigen's own OpenMP GEMM and change what seqnet is measured with.
inline bool set_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}
/// oneDNN's worker-thread count as OpenMP reports it; 0 if OpenMP is not there.
inline int threads() {
  using GetThreads = int (*)();
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return get != nullptr ? get() : 0;
}

/// oneDNN gate `g` holds PyTorch gate `pytorch_gate(model, g)`. LSTM: both i, f, g(c~), o. GRU: oneDNN
/// orders u(z), r, o(n) where PyTorch orders r, z, n.
inline Index pytorch_gate(Model model, Index g) {
  if (model == Model::GRU && g < 2) return 1 - g;
  return g;
}

/// A parameter by PyTorch name (`weight_ih_l0`, `bias_hh_l1_reverse`), in PyTorch's layout.
using ParameterSource = std::function<const float*(const std::string&)>;

/// A stacked module as one oneDNN primitive per layer (both directions of a bidirectional layer in one
/// `bidirectional_concat` primitive; layers are separate because a layer above the first reads 2*H
/// features, which oneDNN's own multi-layer primitive does not allow). All buffers are owned here.
class Network {
 public:
  /// `h0`/`c0` null means zero initial states (as `module(x)`); otherwise `[L*D, N, H_out]`/`[L*D, N, H]`.
  Network(Model model, const Case& c, const ParameterSource& parameter, const float* input, const float* h0,
          const float* c0)
      : model_(model), case_(c) {
    const Index T = c.seq, N = c.batch, D = c.directions, H = c.hidden, H_out = c.output_size(), L = c.layers;
    const bool lstm = model == Model::LSTM;
    input_.assign(input, input + T * N * c.input);
    output_.assign(static_cast<std::size_t>(T * N * D * H_out), 0.0f);
    h0_.assign(static_cast<std::size_t>(L * D * N * H_out), 0.0f);
    if (h0 != nullptr) h0_.assign(h0, h0 + L * D * N * H_out);
    h_n_.assign(h0_.size(), 0.0f);
    if (lstm) {
      c0_.assign(static_cast<std::size_t>(L * D * N * H), 0.0f);
      if (c0 != nullptr) c0_.assign(c0, c0 + L * D * N * H);
      c_n_.assign(c0_.size(), 0.0f);
    }
    for (auto& buffer : between_layers_) buffer.assign(L > 1 ? static_cast<std::size_t>(T * N * D * H_out) : 0, 0.0f);
    for (Index layer = 0; layer < L; ++layer) add_layer(layer, parameter);
  }

  /// The timed part: every layer's primitive, in order.
  void run() {
    for (Layer& layer : layers_) layer.primitive.execute(stream(), layer.args);
    stream().wait();
  }

  Outputs<float> outputs() const { return {output_, h_n_, c_n_}; }

 private:
  struct Layer {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;
  };

  static dnnl::memory::desc desc(const dims& shape, tag format) {
    return dnnl::memory::desc(shape, dnnl::memory::data_type::f32, format);
  }
  dnnl::memory user_memory(const dims& shape, tag format, float* data) const {
    return dnnl::memory(desc(shape, format), engine(), data);
  }
  /// Weights go from the user's layout into whatever layout the primitive prefers, once.
  dnnl::memory reordered(std::vector<float>& user, const dims& shape, tag user_format,
                         const dnnl::memory::desc& wanted) const {
    dnnl::memory source = user_memory(shape, user_format, user.data());
    dnnl::memory target(wanted, engine());
    dnnl::reorder(source, target).execute(stream(), source, target);
    stream().wait();
    return target;
  }

  void add_layer(Index layer, const ParameterSource& parameter) {
    const Case& c = case_;
    const Index T = c.seq, N = c.batch, D = c.directions, H = c.hidden, H_out = c.output_size(), L = c.layers;
    const Index C = c.layer_input(layer), G = gate_count(model_), P = c.proj_size;
    const bool lstm = model_ == Model::LSTM, gru = model_ == Model::GRU, projected = P > 0;
    const Index bias_gates = gru ? G + 1 : G;  // linear-before-reset GRU keeps b_hn apart

    // Weights in oneDNN's logical order (gate-reordered) but PyTorch's physical row-major layout,
    // which oneDNN calls ldgoi ([G*H, C] per direction); the bias in ldgo.
    std::vector<float> weights_layer(static_cast<std::size_t>(D * G * H * C));
    std::vector<float> weights_iter(static_cast<std::size_t>(D * G * H * H_out));
    std::vector<float> weights_projection(static_cast<std::size_t>(projected ? D * P * H : 0));
    std::vector<float> bias(static_cast<std::size_t>(D * bias_gates * H), 0.0f);
    for (Index d = 0; d < D; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      const float* w_ih = parameter("weight_ih" + suffix);
      const float* w_hh = parameter("weight_hh" + suffix);
      const float* b_ih = parameter("bias_ih" + suffix);
      const float* b_hh = parameter("bias_hh" + suffix);
      for (Index g = 0; g < G; ++g) {
        const Index from = pytorch_gate(model_, g);
        std::copy(w_ih + from * H * C, w_ih + (from + 1) * H * C, weights_layer.begin() + (d * G + g) * H * C);
        std::copy(w_hh + from * H * H_out, w_hh + (from + 1) * H * H_out,
                  weights_iter.begin() + (d * G + g) * H * H_out);
        float* b = bias.data() + (d * bias_gates + g) * H;
        const bool gru_candidate = gru && g == 2;  // n: b_in here, b_hn in the extra gate
        for (Index o = 0; o < H; ++o) b[o] = b_ih[from * H + o] + (gru_candidate ? 0.0f : b_hh[from * H + o]);
        if (gru_candidate) std::copy(b_hh + from * H, b_hh + (from + 1) * H, b + H);
      }
      if (projected) {
        const float* w_hr = parameter("weight_hr" + suffix);  // [P, H]: oneDNN's ldoi
        std::copy(w_hr, w_hr + P * H, weights_projection.begin() + d * P * H);
      }
    }

    const tag first_layout = c.batch_first ? tag::ntc : tag::tnc;
    float* src = layer == 0 ? input_.data() : between_layers_[static_cast<std::size_t>((layer - 1) % 2)].data();
    float* dst = layer == L - 1 ? output_.data() : between_layers_[static_cast<std::size_t>(layer % 2)].data();
    const auto src_layer = user_memory({T, N, C}, layer == 0 ? first_layout : tag::tnc, src);
    const auto dst_layer = user_memory({T, N, D * H_out}, layer == L - 1 ? first_layout : tag::tnc, dst);
    const auto src_iter = user_memory({1, D, N, H_out}, tag::ldnc, h0_.data() + layer * D * N * H_out);
    const auto dst_iter = user_memory({1, D, N, H_out}, tag::ldnc, h_n_.data() + layer * D * N * H_out);
    const auto bias_memory = [&] {
      // The bias buffer must outlive the primitive: keep it with the network.
      biases_.push_back(std::move(bias));
      return user_memory({1, D, bias_gates, H}, tag::ldgo, biases_.back().data());
    }();

    const dims weights_layer_shape = {1, D, C, G, H}, weights_iter_shape = {1, D, H_out, G, H};
    const dims projection_shape = {1, D, H, P};
    const auto any_layer = desc(weights_layer_shape, tag::any), any_iter = desc(weights_iter_shape, tag::any);
    const auto direction =
        D == 2 ? dnnl::rnn_direction::bidirectional_concat : dnnl::rnn_direction::unidirectional_left2right;
    const auto inference = dnnl::prop_kind::forward_inference;

    Layer built;
    dnnl::memory::desc wanted_layer, wanted_iter;
    if (lstm) {
      const auto src_iter_c = user_memory({1, D, N, H}, tag::ldnc, c0_.data() + layer * D * N * H);
      const auto dst_iter_c = user_memory({1, D, N, H}, tag::ldnc, c_n_.data() + layer * D * N * H);
      const auto any_projection = projected ? desc(projection_shape, tag::any) : dnnl::memory::desc();
      dnnl::lstm_forward::desc op(inference, direction, src_layer.get_desc(), src_iter.get_desc(),
                                  src_iter_c.get_desc(), any_layer, any_iter, dnnl::memory::desc(), any_projection,
                                  bias_memory.get_desc(), dst_layer.get_desc(), dst_iter.get_desc(),
                                  dst_iter_c.get_desc());
      dnnl::lstm_forward::primitive_desc pd(op, engine());
      built.primitive = dnnl::lstm_forward(pd);
      wanted_layer = pd.weights_layer_desc(), wanted_iter = pd.weights_iter_desc();
      built.args[DNNL_ARG_SRC_ITER_C] = src_iter_c;
      built.args[DNNL_ARG_DST_ITER_C] = dst_iter_c;
      if (projected) {
        built.args[DNNL_ARG_WEIGHTS_PROJECTION] =
            reordered(weights_projection, projection_shape, tag::ldoi, pd.weights_projection_desc());
      }
    } else if (gru) {
      dnnl::lbr_gru_forward::desc op(inference, direction, src_layer.get_desc(), src_iter.get_desc(), any_layer,
                                     any_iter, bias_memory.get_desc(), dst_layer.get_desc(), dst_iter.get_desc());
      dnnl::lbr_gru_forward::primitive_desc pd(op, engine());
      built.primitive = dnnl::lbr_gru_forward(pd);
      wanted_layer = pd.weights_layer_desc(), wanted_iter = pd.weights_iter_desc();
    } else {
      dnnl::vanilla_rnn_forward::desc op(inference, dnnl::algorithm::eltwise_tanh, direction, src_layer.get_desc(),
                                         src_iter.get_desc(), any_layer, any_iter, bias_memory.get_desc(),
                                         dst_layer.get_desc(), dst_iter.get_desc());
      dnnl::vanilla_rnn_forward::primitive_desc pd(op, engine());
      built.primitive = dnnl::vanilla_rnn_forward(pd);
      wanted_layer = pd.weights_layer_desc(), wanted_iter = pd.weights_iter_desc();
    }
    built.args[DNNL_ARG_SRC_LAYER] = src_layer;
    built.args[DNNL_ARG_SRC_ITER] = src_iter;
    built.args[DNNL_ARG_WEIGHTS_LAYER] = reordered(weights_layer, weights_layer_shape, tag::ldgoi, wanted_layer);
    built.args[DNNL_ARG_WEIGHTS_ITER] = reordered(weights_iter, weights_iter_shape, tag::ldgoi, wanted_iter);
    built.args[DNNL_ARG_BIAS] = bias_memory;
    built.args[DNNL_ARG_DST_LAYER] = dst_layer;
    built.args[DNNL_ARG_DST_ITER] = dst_iter;
    layers_.push_back(std::move(built));
  }

  Model model_;
  Case case_;
  std::vector<float> input_, output_, h0_, h_n_, c0_, c_n_;
  std::vector<float> between_layers_[2];
  std::vector<std::vector<float>> biases_;
  std::vector<Layer> layers_;
};

/// Row-major `C[M, N] = A[M, K] * B[N, K]^T`, the product a PyTorch-layout linear layer computes, by
/// oneDNN's sgemm: the reference fp32 GEMM rate of the machine.
class Sgemm {
 public:
  Sgemm(Index m, Index n, Index k)
      : m_(m), n_(n), k_(k), a_(static_cast<std::size_t>(m * k)), b_(static_cast<std::size_t>(n * k)),
        c_(static_cast<std::size_t>(m * n)) {
    seqnet::Generator generator(m * 1000003 + n * 1009 + k);
    for (float& v : a_) v = static_cast<float>(generator.normal());
    for (float& v : b_) v = static_cast<float>(generator.normal());
  }
  bool run() {
    return dnnl_sgemm('N', 'T', m_, n_, k_, 1.0f, a_.data(), k_, b_.data(), k_, 0.0f, c_.data(), n_) == dnnl_success;
  }
  double flops() const { return 2.0 * static_cast<double>(m_) * static_cast<double>(n_) * static_cast<double>(k_); }

 private:
  Index m_, n_, k_;
  std::vector<float> a_, b_, c_;
};

}  // namespace bench::onednn

#endif  // SEQNET_BENCH_HAVE_DNNL
