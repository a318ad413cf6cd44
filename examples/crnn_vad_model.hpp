// SPDX-License-Identifier: MIT
// The CRNN voice-activity detector of tools/gen_crnn_vad.py, written in seqnet: the same tree as the
// PyTorch class (so its state_dict loads in one strict call), and a streaming runner that feeds it one
// 512-sample chunk at a time without allocating. Used by examples/crnn_vad.cpp and its tests.
#pragma once

#include <algorithm>
#include <stdexcept>

#include <seqnet/seqnet.hpp>

// PyTorch:
//   class CRNNVad(nn.Module):
//       def __init__(self):
//           self.frontend = nn.Sequential(
//               nn.Conv1d(1, 16, kernel_size=32, stride=16), nn.BatchNorm1d(16), nn.ReLU(),
//               nn.Conv1d(16, 32, kernel_size=5, stride=2, padding=2), nn.ReLU(),
//               nn.Conv1d(32, 32, kernel_size=3, stride=2, padding=1), nn.ReLU(),
//               nn.AvgPool1d(8))
//           self.rnn = nn.GRU(32, 32)
//           self.head = nn.Sequential(nn.Linear(32, 1), nn.Sigmoid())
template <typename T>
struct CRNNVad : seqnet::Module<T> {
  static constexpr seqnet::Index chunk_samples = 512;  // 32 ms at 16 kHz
  static constexpr seqnet::Index sample_rate = 16000;

  seqnet::Sequential<T> frontend{seqnet::Conv1d<T>(seqnet::Conv1dOptions(1, 16, 32).stride(16)),
                                 seqnet::BatchNorm1d<T>(16),
                                 seqnet::ReLU<T>(),
                                 seqnet::Conv1d<T>(seqnet::Conv1dOptions(16, 32, 5).stride(2).padding(2)),
                                 seqnet::ReLU<T>(),
                                 seqnet::Conv1d<T>(seqnet::Conv1dOptions(32, 32, 3).stride(2).padding(1)),
                                 seqnet::ReLU<T>(),
                                 seqnet::AvgPool1d<T>(8)};
  seqnet::GRU<T> rnn{32, 32};
  seqnet::Sequential<T> head{seqnet::Linear<T>(32, 1), seqnet::Sigmoid<T>()};

  CRNNVad() : seqnet::Module<T>("CRNNVad") {
    this->register_module("frontend", &CRNNVad::frontend);
    this->register_module("rnn", &CRNNVad::rnn);
    this->register_module("head", &CRNNVad::head);
  }
};

// Runs a CRNNVad chunk after chunk, as the PyTorch model's forward runs a sequence of chunks: each chunk
// through the front end, one GRU step with the state carried, the head. Every intermediate tensor is a
// member sized by the first chunk, and each layer writes into it (`forward_into`; the activations in
// place), so every later chunk allocates nothing. The model must outlive the runner and be in eval mode
// (BatchNorm1d then uses its running statistics, as PyTorch's `model.eval()`).
template <typename T>
class CRNNVadStream {
 public:
  explicit CRNNVadStream(const CRNNVad<T>& model)
      : conv0_(model.frontend.template get<seqnet::Conv1d<T>>(0)),
        norm1_(model.frontend.template get<seqnet::BatchNorm1d<T>>(1)),
        conv3_(model.frontend.template get<seqnet::Conv1d<T>>(3)),
        conv5_(model.frontend.template get<seqnet::Conv1d<T>>(5)),
        pool7_(model.frontend.template get<seqnet::AvgPool1d<T>>(7)),
        linear_(model.head.template get<seqnet::Linear<T>>(0)),
        rnn_(model.rnn, /*batch=*/1),
        chunk_(1, 1, CRNNVad<T>::chunk_samples),
        feature_(1, 32) {
    if (model.is_training())
      throw std::invalid_argument("CRNNVadStream runs the model in eval mode: call model.eval() first");
  }

  // One chunk of `CRNNVad<T>::chunk_samples` samples in, the speech probability out.
  T step(const T* samples) {
    std::copy(samples, samples + CRNNVad<T>::chunk_samples, chunk_.data());
    conv0_.forward_into(chunk_, a_);  // [1, 16, 31]
    norm1_.forward_into(a_, a_);
    relu_.forward_into(a_, a_);
    conv3_.forward_into(a_, b_);      // [1, 32, 16]
    relu_.forward_into(b_, b_);
    conv5_.forward_into(b_, c_);      // [1, 32, 8]
    relu_.forward_into(c_, c_);
    pool7_.forward_into(c_, d_);      // [1, 32, 1], the same memory as the GRU's [1, 32] input
    std::copy(d_.data(), d_.data() + d_.size(), feature_.data());
    rnn_.step_into(feature_, h_);     // [1, 32]
    linear_.forward_into(h_, logit_);
    sigmoid_.forward_into(logit_, logit_);
    return logit_(0, 0);
  }

  // The GRU's state, [1, 1, 32] (PyTorch's h_n).
  const seqnet::Tensor<T, 3>& h() const { return rnn_.h(); }
  void reset() { rnn_.reset(); }

 private:
  const seqnet::Conv1d<T>& conv0_;
  const seqnet::BatchNorm1d<T>& norm1_;
  const seqnet::Conv1d<T>& conv3_;
  const seqnet::Conv1d<T>& conv5_;
  const seqnet::AvgPool1d<T>& pool7_;
  const seqnet::Linear<T>& linear_;
  seqnet::ReLU<T> relu_;
  seqnet::Sigmoid<T> sigmoid_;
  seqnet::Stream<seqnet::GRU<T>> rnn_;
  seqnet::Tensor<T, 3> chunk_, a_, b_, c_, d_;
  seqnet::Tensor<T, 2> feature_, h_, logit_;
};
