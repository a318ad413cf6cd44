// SPDX-License-Identifier: MIT
#pragma once

// The plan's backend operations done with plain loops on the host: it checks the plan's logic
// (layers, directions, steps, packed batches, layouts, aliasing) against the CPU modules on a machine
// without a GPU. It records the operations it ran, so tests can also check what the plan asks for.

#include <algorithm>
#include <set>
#include <vector>

#include <seqnet/detail/rnn/plan.hpp>

namespace seqnet::test {

template <typename T>
struct HostBackend {
  int forks = 0;
  int products = 0;
  int steps = 0;
  /// Steps whose `h_prev` shares an element with `h_out`: a GPU kernel that fuses the product with the
  /// gates reads `h_prev` while other threads write `h_out`, so the plan must never issue one.
  int overlapping_steps = 0;

  void gemm(Index m, Index n, Index k, const T* a, Index lda, const T* w, T* c, Index ldc) {
    ++products;
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j) {
        T sum = 0;
        for (Index p = 0; p < k; ++p) sum += a[i * lda + p] * w[j * k + p];
        c[i * ldc + j] = sum;
      }
  }
  void pointwise(const detail::PointwiseArgs<T>& args) {
    for (Index row = 0; row < args.rows; ++row)
      for (Index unit = 0; unit < args.hidden; ++unit) detail::pointwise_element(args, row, unit);
  }
  void recurrent(const detail::RecurrentSpec& spec, const detail::StepArgs<T>& step) {
    ++steps;
    const Index width = spec.output_size();
    std::set<const T*> written;
    for (Index r = 0; r < step.rows; ++r)
      for (Index k = 0; k < width; ++k) written.insert(step.h_out + r * step.ld_h_out + k);
    bool overlaps = false;
    for (Index r = 0; r < step.rows && !overlaps; ++r)
      for (Index k = 0; k < width && !overlaps; ++k) overlaps = written.count(step.h_prev + r * step.ld_h_prev + k) > 0;
    overlapping_steps += overlaps ? 1 : 0;
    detail::recurrent_by_products(*this, spec, step);
  }
  void copy_rows(const T* src, Index lds, T* dst, Index ldd, Index rows, Index cols) {
    for (Index r = 0; r < rows; ++r) std::copy(src + r * lds, src + r * lds + cols, dst + r * ldd);
  }
  void zero(T* data, Index count) { std::fill(data, data + count, T(0)); }
  void permute(const T* src, T* dst, const Index* order, Index seq, Index batch, Index width, bool batch_first,
               bool inverse) {
    detail::permute_batch<T>({src, seq, batch, width, batch_first}, {dst, seq, batch, width, batch_first}, order,
                             inverse);
  }
  void dropout(const T* src, T* dst, Index count, double p, Generator& generator, T* record) {
    std::vector<T> mask;
    detail::append_dropout_mask(mask, count, p, generator);
    for (Index i = 0; i < count; ++i) dst[i] = src[i] * mask[static_cast<std::size_t>(i)];
    if (record != nullptr) std::copy(mask.begin(), mask.end(), record);
  }
  void apply_mask(const T* src, T* dst, const T* mask, Index count) {
    for (Index i = 0; i < count; ++i) dst[i] = src[i] * mask[i];
  }
  void project_input(const detail::ProjectArgs<T>& a) {
    gemm(a.rows, a.out_width, a.in_width, a.input, a.in_width, a.weight_ih, a.out, a.out_width);
  }
  template <typename Body>
  void for_each_direction(const detail::RecurrentSpec& spec, const detail::SequenceDims&, Index, Body&& body) {
    if (spec.directions() > 1) fork();
    for (Index dir = 0; dir < spec.directions(); ++dir) body(dir, *this);
  }
  void fork() { ++forks; }
};

}  // namespace seqnet::test
