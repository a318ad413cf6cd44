// gate_math.hpp's derivative form against central finite differences of its forward form, for every
// cell kind, before any backward pass uses it; and the tape a recorded forward writes, against the
// equations it must satisfy.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "tensor_compare.hpp"

namespace {

using seqnet::Index;
using seqnet::detail::CellKind;
using seqnet::detail::gate_backward;
using seqnet::detail::gate_update;

struct Unit {
  CellKind kind;
  bool relu;
  double x[4], h[4], h_prev, c_prev;
  double dh, dc;  ///< the loss is dh * h' + dc * c'

  /// The loss at these values.
  double loss() const {
    double c = c_prev;
    const double h_next = gate_update<double>(kind, relu, x, h, h_prev, &c);
    return dh * h_next + (kind == CellKind::LSTM ? dc * c : 0.0);
  }
};

}  // namespace

TEST_CASE("gate_backward equals finite differences of gate_update", "[gates][backward]") {
  std::mt19937 engine(7);
  std::normal_distribution<double> normal(0.0, 1.5);
  const std::pair<CellKind, bool> kinds[] = {
      {CellKind::RNN, false}, {CellKind::RNN, true}, {CellKind::LSTM, false}, {CellKind::GRU, false}};
  for (const auto& [kind, relu] : kinds) {
    const int gates = seqnet::detail::gates_of(kind);
    for (int trial = 0; trial < 200; ++trial) {
      Unit u{kind, relu, {}, {}, normal(engine), normal(engine), normal(engine), normal(engine)};
      for (int g = 0; g < 4; ++g) {
        u.x[g] = normal(engine);
        u.h[g] = normal(engine);
      }
      if (relu && std::abs(u.x[0] + u.h[0]) < 1e-3) continue;  // the kink
      double c_next = u.c_prev, record[4];
      (void)gate_update<double>(kind, relu, u.x, u.h, u.h_prev, &c_next, record);
      double d_x[4], d_h[4], dc_prev = 0.0;
      const double dh_prev = gate_backward<double>(kind, relu, record, u.h_prev, u.c_prev, c_next, u.dh, u.dc, d_x,
                                                   d_h, &dc_prev);
      auto numeric = [&](double Unit::*member, int index) {
        Unit plus = u, minus = u;
        const double eps = 1e-6;
        if (index < 0) {
          plus.*member += eps;
          minus.*member -= eps;
        }
        return (plus.loss() - minus.loss()) / (2 * eps);
      };
      auto numeric_array = [&](double (Unit::*member)[4], int g) {
        Unit plus = u, minus = u;
        const double eps = 1e-6;
        (plus.*member)[g] += eps;
        (minus.*member)[g] -= eps;
        return (plus.loss() - minus.loss()) / (2 * eps);
      };
      auto close = [](double got, double want) { return std::abs(got - want) <= 1e-7 * (1.0 + std::abs(want)); };
      INFO("kind " << static_cast<int>(kind) << ", relu " << relu << ", trial " << trial);
      for (int g = 0; g < gates; ++g) {
        INFO("gate " << g);
        CHECK(close(d_x[g], numeric_array(&Unit::x, g)));
        CHECK(close(d_h[g], numeric_array(&Unit::h, g)));
      }
      CHECK(close(dh_prev, numeric(&Unit::h_prev, -1)));
      if (kind == CellKind::LSTM) CHECK(close(dc_prev, numeric(&Unit::c_prev, -1)));
    }
  }
}

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

// A recorded training forward of a 2-layer bidirectional LSTM with dropout over unsorted packed
// sequences: its outputs equal the unrecorded forward's, and what it recorded satisfies the equations
// backward will rely on.
TEST_CASE("the tape of a recorded forward holds what backward needs", "[tape]") {
  using T = double;
  const Index I = 3, H = 5, S = 6, B = 4, D = 2, L = 2;
  seqnet::Generator init(11);
  seqnet::LSTM<T> lstm(seqnet::LSTMOptions(I, H).num_layers(L).bidirectional(true).dropout(0.5), init);
  const seqnet::Tensor<T, 3> x = seqnet::randn<T>(S, B, I);
  const seqnet::SequenceLengths lengths = seqnet::SequenceLengths(std::vector<Index>{4, 6, 2, 6}).enforce_sorted(false);

  seqnet::Generator plain_draws(99);
  lstm.set_generator(plain_draws);
  const auto plain = lstm(x, lengths);

  const auto& spec = lstm.spec();
  const seqnet::detail::ParameterLayout layout(spec);
  const seqnet::Shape input_shape = seqnet::shape(x);
  const auto call = seqnet::detail::module_call(spec, input_shape, nullptr, nullptr, &lengths);
  const seqnet::detail::StackPlan<T> plan(spec, layout, call.dims, &call.packed);
  const seqnet::detail::TapeLayout tape_layout = plan.tape_layout(true);
  seqnet::detail::AlignedVector<T> tape(static_cast<std::size_t>(tape_layout.total), T(0));
  seqnet::Tensor<T, 3> out(S, B, D * H), h_n(L * D, B, H), c_n(L * D, B, H);
  const seqnet::detail::StackIO<T> io{x.data(), nullptr, nullptr, out.data(), h_n.data(), c_n.data()};
  seqnet::detail::CpuWorkspace<T> workspace;
  seqnet::Generator recorded_draws(99);
  const T* params = std::as_const(lstm).flat_parameters();
  seqnet::detail::run_on_cpu(plan, spec, layout, params, &call.packed, io, true, recorded_draws, workspace,
                             seqnet::detail::WeightUse{}, seqnet::detail::TapeView<T>{&tape_layout, tape.data()});
  CHECK(seqnet_test::identical(out, plain.first));
  CHECK(seqnet_test::identical(h_n, plain.second.first));
  CHECK(seqnet_test::identical(c_n, plain.second.second));

  // Everything below is in sorted batch order; row r runs for batch_sizes steps.
  const std::vector<Index>& batch_sizes = call.packed.batch_sizes;
  auto running = [&](Index t, Index r) { return r < batch_sizes[static_cast<std::size_t>(t)]; };
  const Index width = D * H;
  double worst = 0.0;
  Index checked = 0;
  for (Index layer = 0; layer < L; ++layer) {
    const Index in_width = spec.layer_input_size(layer);
    const T* input = tape.data() + tape_layout.input[static_cast<std::size_t>(layer)];
    const T* output = tape.data() + tape_layout.output[static_cast<std::size_t>(layer)];
    if (layer + 1 < L) {
      const T* next = tape.data() + tape_layout.input[static_cast<std::size_t>(layer + 1)];
      const T* mask = tape.data() + tape_layout.mask[static_cast<std::size_t>(layer)];
      for (Index k = 0; k < S * B * width; ++k) {
        REQUIRE((mask[k] == 0.0 || mask[k] == 2.0));
        REQUIRE(next[k] == output[k] * mask[k]);
      }
    }
    for (Index dir = 0; dir < D; ++dir) {
      const Index index = layer * D + dir;
      const auto& offsets = layout.directions[static_cast<std::size_t>(index)];
      const T* w_ih = params + offsets.weight_ih;
      const T* w_hh = params + offsets.weight_hh;
      const T* b_ih = params + offsets.bias_ih;
      const T* b_hh = params + offsets.bias_hh;
      const T* gates = tape.data() + tape_layout.gates[static_cast<std::size_t>(index)];
      const T* c_hist = tape.data() + tape_layout.c[static_cast<std::size_t>(index)];
      const T* h0 = tape.data() + tape_layout.h0[static_cast<std::size_t>(index)];
      const T* c0 = tape.data() + tape_layout.c0[static_cast<std::size_t>(index)];
      for (Index step = 0; step < S; ++step) {
        const Index t = dir == 0 ? step : S - 1 - step;
        for (Index r = 0; r < B; ++r) {
          if (!running(t, r)) continue;
          // The previous step in this direction, or the initial state where the sequence starts.
          const Index prev_t = dir == 0 ? t - 1 : t + 1;
          const bool from_start = dir == 0 ? t == 0 : !(prev_t < S && running(prev_t, r));
          for (Index j = 0; j < H; ++j) {
            double pre[4];
            for (Index g = 0; g < 4; ++g) {
              const Index row = g * H + j;
              double sum = b_ih[row] + b_hh[row];
              for (Index k = 0; k < in_width; ++k) sum += w_ih[row * in_width + k] * input[(t * B + r) * in_width + k];
              for (Index k = 0; k < H; ++k) {
                const double h_prev = from_start ? h0[r * H + k] : output[(prev_t * B + r) * width + dir * H + k];
                sum += w_hh[row * H + k] * h_prev;
              }
              pre[g] = sum;
            }
            const T* rec = gates + (t * B + r) * 4 * H;
            const double want[4] = {sigmoid(pre[0]), sigmoid(pre[1]), std::tanh(pre[2]), sigmoid(pre[3])};
            for (Index g = 0; g < 4; ++g) worst = std::max(worst, std::abs(rec[g * H + j] - want[g]));
            const double c_prev = from_start ? c0[r * H + j] : c_hist[(prev_t * B + r) * H + j];
            const double c = c_hist[(t * B + r) * H + j];
            worst = std::max(worst, std::abs(c - (rec[H + j] * c_prev + rec[j] * rec[2 * H + j])));
            worst = std::max(worst, std::abs(output[(t * B + r) * width + dir * H + j] - rec[3 * H + j] * std::tanh(c)));
            ++checked;
          }
        }
      }
    }
  }
  INFO(checked << " units checked");
  CHECK(checked == L * D * (4 + 6 + 2 + 6) * H);
  CHECK(worst <= 1e-13);
}
