// The fused fp32 gate kernels (detail/kernels/gates_*.hpp) against a double-precision evaluation of the
// same equations, for every instruction set this CPU runs: widths with partial vectors, strided rows,
// and pre-activations from tiny to saturating.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include <seqnet/seqnet.hpp>

namespace {

using seqnet::Index;
using seqnet::detail::CellKind;
using seqnet::detail::GateRows;


struct Case {
  Index rows, hidden, gates, stride;  // stride: extra elements after each row
  std::vector<float> gx, gh, c, h_prev, h_next;

  Case(CellKind kind, Index rows_, Index hidden_, double scale, unsigned seed)
      : rows(rows_), hidden(hidden_), gates(kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 3 : 1), stride(5) {
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, static_cast<float>(scale));
    std::normal_distribution<float> state(0.0f, 1.0f);  // a hidden state is within [-1, 1], a cell state near
    auto fill = [&](std::vector<float>& v, Index width, std::normal_distribution<float>& values) {
      v.resize(static_cast<std::size_t>(rows * (width + stride)));
      for (auto& x : v) x = values(engine);
    };
    fill(gx, gates * hidden, normal);
    fill(gh, gates * hidden, normal);
    fill(c, hidden, state);
    fill(h_prev, hidden, state);
    h_next.assign(static_cast<std::size_t>(rows * (hidden + stride)), 0.0f);
  }
  GateRows view() {
    const Index g = gates * hidden + stride, h = hidden + stride;
    return {rows, hidden, gx.data(), g, gh.data(), g, c.data(), h, h_prev.data(), h, h_next.data(), h};
  }
};

/// Row `r`, unit `j` of a case in double precision, by gate_math.hpp's single definition of the
/// equations: returns h', and updates `*c` (LSTM) from `c_prev`.
double reference(CellKind kind, const Case& k, Index r, Index j, double c_prev, double* c) {
  const Index g = k.gates * k.hidden + k.stride, s = k.hidden + k.stride;
  double x[4], h[4];
  for (Index gate = 0; gate < k.gates; ++gate) {
    x[gate] = k.gx[static_cast<std::size_t>(r * g + gate * k.hidden + j)];
    h[gate] = k.gh[static_cast<std::size_t>(r * g + gate * k.hidden + j)];
  }
  *c = c_prev;
  return seqnet::detail::gate_update<double>(kind, false, x, h, k.h_prev[static_cast<std::size_t>(r * s + j)], c);
}

/// Checks one kernel on one case against double precision: |got - want| <= 2e-6 * |want| + 1e-6, what
/// Eigen's fp32 approximations (a few ulp, plus the rounding of c) stay within; the golden tolerance is 1e-5 and 1e-6.
void check_kernel(CellKind kind, const std::function<void(const GateRows&)>& kernel, Index rows, Index hidden,
                  double scale) {
  Case k(kind, rows, hidden, scale, static_cast<unsigned>(rows * 131 + hidden));
  const std::vector<float> c_before = k.c;
  kernel(k.view());
  const Index s = hidden + k.stride;
  double worst = 0.0;
  for (Index r = 0; r < rows; ++r) {
    for (Index j = 0; j < hidden; ++j) {
      const auto at = static_cast<std::size_t>(r * s + j);
      double want_c = c_before[at];
      const double want_h = reference(kind, k, r, j, c_before[at], &want_c);
      if (kind == CellKind::LSTM) worst = std::max(worst, std::abs(k.c[at] - want_c) / (2e-6 * std::abs(want_c) + 1e-6));
      worst = std::max(worst, std::abs(k.h_next[at] - want_h) / (2e-6 * std::abs(want_h) + 1e-6));
    }
    // The padding after each row is never written.
    for (Index j = hidden; j < s; ++j) CHECK(k.h_next[static_cast<std::size_t>(r * s + j)] == 0.0f);
  }
  INFO("rows " << rows << ", hidden " << hidden << ", scale " << scale);
  CHECK(worst <= 1.0);
}

void check_isa(const std::function<void(CellKind, const GateRows&)>& run) {
  for (CellKind kind : {CellKind::RNN, CellKind::LSTM, CellKind::GRU}) {
    INFO("kind " << static_cast<int>(kind));
    for (Index hidden : {1, 7, 8, 15, 16, 17, 37, 64})
      for (double scale : {1e-3, 0.5, 3.0, 60.0})
        check_kernel(kind, [&](const GateRows& rows) { run(kind, rows); }, 3, hidden, scale);
  }
}

/// What the modules run: `cpu_pointwise`, i.e. the vector kernel this CPU has, or gate_math.hpp's
/// element-wise definition where there is none (SEQNET_EIGEN_GATES, the portable GEMM, a CPU without
/// AVX2), so every build checks an output.
void dispatched_gates(CellKind kind, const GateRows& g) {
  seqnet::detail::PointwiseArgs<float> a;
  a.kind = kind;
  a.rows = g.rows;
  a.hidden = g.hidden;
  a.gx = g.gx;
  a.ld_gx = g.gx_stride;
  a.gh = g.gh;
  a.ld_gh = g.gh_stride;
  a.h_prev = g.h_prev;
  a.ld_h_prev = g.h_prev_stride;
  REQUIRE((kind != CellKind::LSTM || g.c_stride == g.hidden + 5));
  // cpu_pointwise's c is dense ([rows, hidden]); the cases pad every row, so run one row at a time.
  for (Index r = 0; r < g.rows; ++r) {
    seqnet::detail::PointwiseArgs<float> row = a;
    row.rows = 1;
    row.gx = g.gx + r * g.gx_stride;
    row.gh = g.gh + r * g.gh_stride;
    row.h_prev = g.h_prev + r * g.h_prev_stride;
    row.c = kind == CellKind::LSTM ? g.c + r * g.c_stride : nullptr;
    row.h = g.h_next + r * g.h_next_stride;
    row.ld_h = g.h_next_stride;
    seqnet::detail::cpu_pointwise(row, 0, 1);
  }
}

/// NaN in any pre-activation must come out NaN in exactly the elements it reaches in double precision
/// (the x86 min/max clamps once turned it into 1), and pre-activations of +-1e4 and +-inf must saturate
/// (sigmoid 0 or 1, tanh +-1) without producing NaN.
void check_nonfinite(const std::function<void(CellKind, const GateRows&)>& run) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (CellKind kind : {CellKind::RNN, CellKind::LSTM, CellKind::GRU}) {
    for (Index hidden : {1, 7, 16, 19}) {
      for (float special : {nan, 1e4f, -1e4f, inf, -inf}) {
        INFO("kind " << static_cast<int>(kind) << ", hidden " << hidden << ", value " << special);
        // Row r puts `special` into gate r % G (gx and gh alternately) at column r % hidden.
        const Index gates = kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 3 : 1;
        const Index rows = 2 * gates;
        Case k(kind, rows, hidden, 0.5, static_cast<unsigned>(hidden));
        const Index g = gates * hidden + k.stride, s = hidden + k.stride;
        for (Index r = 0; r < rows; ++r) {
          auto& target = r < gates ? k.gx : k.gh;
          target[static_cast<std::size_t>(r * g + (r % gates) * hidden + r % hidden)] = special;
        }
        const std::vector<float> c_before = k.c;
        run(kind, k.view());
        for (Index r = 0; r < rows; ++r) {
          for (Index j = 0; j < hidden; ++j) {
            const auto at = static_cast<std::size_t>(r * s + j);
            double c = c_before[at];
            const double want = reference(kind, k, r, j, c_before[at], &c);
            if (kind == CellKind::LSTM) CHECK(std::isnan(k.c[at]) == std::isnan(c));
            INFO("row " << r << ", column " << j << ": got " << k.h_next[at] << ", want " << want);
            REQUIRE(std::isnan(k.h_next[at]) == std::isnan(want));
            if (!std::isnan(want)) CHECK(std::abs(k.h_next[at] - want) <= 2e-6 * std::abs(want) + 1e-6);
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("fp32 gate kernels match double precision", "[gates]") {
#if SEQNET_GEMM_HAVE_X86_KERNELS
  using seqnet::detail::GemmKernel;
  if (seqnet::detail::gemm_kernel_supported(GemmKernel::Avx512)) {
    SECTION("AVX-512") {
      check_isa([](CellKind kind, const GateRows& rows) {
        namespace k = seqnet::detail::gates_avx512;
        kind == CellKind::LSTM ? k::lstm(rows) : kind == CellKind::GRU ? k::gru(rows) : k::rnn_tanh(rows);
      });
    }
  }
  if (seqnet::detail::gemm_kernel_supported(GemmKernel::Avx2)) {
    SECTION("AVX2") {
      check_isa([](CellKind kind, const GateRows& rows) {
        namespace k = seqnet::detail::gates_avx2;
        kind == CellKind::LSTM ? k::lstm(rows) : kind == CellKind::GRU ? k::gru(rows) : k::rnn_tanh(rows);
      });
    }
  }
#endif
  SECTION("whatever gates.hpp dispatches to (or Eigen)") { check_isa(dispatched_gates); }
}

TEST_CASE("fp32 gate kernels propagate NaN and saturate at large pre-activations", "[gates]") {
#if SEQNET_GEMM_HAVE_X86_KERNELS
  using seqnet::detail::GemmKernel;
  if (seqnet::detail::gemm_kernel_supported(GemmKernel::Avx512)) {
    SECTION("AVX-512") {
      check_nonfinite([](CellKind kind, const GateRows& rows) {
        namespace k = seqnet::detail::gates_avx512;
        kind == CellKind::LSTM ? k::lstm(rows) : kind == CellKind::GRU ? k::gru(rows) : k::rnn_tanh(rows);
      });
    }
  }
  if (seqnet::detail::gemm_kernel_supported(GemmKernel::Avx2)) {
    SECTION("AVX2") {
      check_nonfinite([](CellKind kind, const GateRows& rows) {
        namespace k = seqnet::detail::gates_avx2;
        kind == CellKind::LSTM ? k::lstm(rows) : kind == CellKind::GRU ? k::gru(rows) : k::rnn_tanh(rows);
      });
    }
  }
#endif
  SECTION("whatever gates.hpp dispatches to (or Eigen)") { check_nonfinite(dispatched_gates); }
}
