// SPDX-License-Identifier: MIT
// The fused fp32 gate kernels (RNN tanh, LSTM, GRU), written once and compiled once per instruction set,
// as gemm_driver.inl is: each kernels/gates_<isa>.hpp opens its namespace, defines SEQNET_GATES_TARGET
// and `V` (the vector operations, with `lanes`, partial loads and stores), then includes this file. No
// include guard. Every function carries SEQNET_GATES_TARGET so the intrinsics inline; no lambdas.
//
// Each element goes through the same vector code whichever row or thread it falls to (the last, partial
// vector of a row computes on zero padding), so splitting rows among threads keeps the results bitwise
// identical. sigmoid and tanh are the approximations Eigen's own fp32 vector code uses (so a default build
// computes what a -march=native build of Eigen would, up to rounding), e^x is Cephes' expf.

/// e^x for x in [-87.3, 88.0] (clamped there, so 2^n stays a normal number): x = n ln2 + r, |r| <= ln2/2,
/// e^r by Cephes' expf polynomial.
SEQNET_GATES_TARGET inline V::Reg exp_clamped(V::Reg x) {
  x = V::min(V::max(x, V::set1(-87.33654f)), V::set1(88.02969f));
  const V::Reg n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  V::Reg r = V::fnmadd(n, V::set1(0.693359375f), x);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  V::Reg p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
  return V::scale2(p, n);
}

/// 1 / (1 + e^-x) as Eigen computes it for fp32 (its FMA variant): 0.5 plus an odd rational function up to
/// x = 15.72 (where it reaches 1), e^x below x = -9, taken only by vectors that have such a lane.
SEQNET_GATES_TARGET inline V::Reg sigmoid(V::Reg x_in) {
  const V::Reg x = V::min(x_in, V::set1(15.7243833541870117f));
  const V::Reg x2 = V::mul(x, x);
  V::Reg p = V::fmadd(x2, V::set1(4.37031012579801e-11f), V::set1(1.15627324459942e-07f));
  p = V::fmadd(x2, p, V::set1(6.08574864600143e-05f));
  p = V::fmadd(x2, p, V::set1(8.51377133304701e-03f));
  p = V::fmadd(x2, p, V::set1(2.48287947061529e-01f));
  p = V::mul(x, p);
  V::Reg q = V::fmadd(x2, V::set1(6.10247389755681e-13f), V::set1(5.76102136993427e-09f));
  q = V::fmadd(x2, q, V::set1(6.29106785017040e-06f));
  q = V::fmadd(x2, q, V::set1(1.70198817374094e-03f));
  q = V::fmadd(x2, q, V::set1(1.16817656904453e-01f));
  q = V::fmadd(x2, q, V::set1(9.93151921023180e-01f));
  const V::Reg rational = V::add(V::div(p, q), V::set1(0.5f));
  const V::Reg cutoff = V::set1(-9.0f);
  if (!V::any_less(x_in, cutoff)) return rational;
  return V::select_less(x_in, cutoff, exp_clamped(x_in), rational);
}

/// tanh as Eigen computes it for fp32 (its FMA variant): an odd [13/6] rational function on x clamped to
/// +-7.9988 (where it reaches +-1), x itself below |x| = 0.0004.
SEQNET_GATES_TARGET inline V::Reg tanh(V::Reg x_in) {
  const V::Reg x = V::max(V::min(x_in, V::set1(7.99881172180175781f)), V::set1(-7.99881172180175781f));
  const V::Reg x2 = V::mul(x, x);
  V::Reg p = V::fmadd(x2, V::set1(-2.76076847742355e-16f), V::set1(2.00018790482477e-13f));
  p = V::fmadd(x2, p, V::set1(-8.60467152213735e-11f));
  p = V::fmadd(x2, p, V::set1(5.12229709037114e-08f));
  p = V::fmadd(x2, p, V::set1(1.48572235717979e-05f));
  p = V::fmadd(x2, p, V::set1(6.37261928875436e-04f));
  p = V::fmadd(x2, p, V::set1(4.89352455891786e-03f));
  p = V::mul(x, p);
  V::Reg q = V::fmadd(x2, V::set1(1.19825839466702e-06f), V::set1(1.18534705686654e-04f));
  q = V::fmadd(x2, q, V::set1(2.26843463243900e-03f));
  q = V::fmadd(x2, q, V::set1(4.89352518554385e-03f));
  return V::select_less(V::abs(x_in), V::set1(0.0004f), x, V::div(p, q));
}

/// One vector of each gate row: loads `gx + gh` for gate `k` at column `j` (`n` real lanes).
SEQNET_GATES_TARGET inline V::Reg gate_sum(const float* gx, const float* gh, Eigen::Index offset, int n) {
  return V::add(V::load(gx + offset, n), V::load(gh + offset, n));
}

/// `h = tanh(gx + gh)` over `rows` rows of `H`.
SEQNET_GATES_TARGET inline void rnn_tanh(const GateRows& g) {
  for (Eigen::Index row = 0; row < g.rows; ++row) {
    const float* gx = g.gx + row * g.gx_stride;
    const float* gh = g.gh + row * g.gh_stride;
    float* h = g.h_next + row * g.h_next_stride;
    for (Eigen::Index j = 0; j < g.hidden; j += V::lanes) {
      const int n = static_cast<int>(std::min<Eigen::Index>(V::lanes, g.hidden - j));
      V::store(h + j, tanh(gate_sum(gx, gh, j, n)), n);
    }
  }
}

/// LSTM (gates i, f, g, o): `c = σ(f) c + σ(i) tanh(g)`, `h = σ(o) tanh(c)`, `c` in place.
SEQNET_GATES_TARGET inline void lstm(const GateRows& g) {
  const Eigen::Index H = g.hidden;
  for (Eigen::Index row = 0; row < g.rows; ++row) {
    const float* gx = g.gx + row * g.gx_stride;
    const float* gh = g.gh + row * g.gh_stride;
    float* c = g.c + row * g.c_stride;
    float* h = g.h_next + row * g.h_next_stride;
    for (Eigen::Index j = 0; j < H; j += V::lanes) {
      const int n = static_cast<int>(std::min<Eigen::Index>(V::lanes, H - j));
      const V::Reg i = sigmoid(gate_sum(gx, gh, j, n));
      const V::Reg f = sigmoid(gate_sum(gx, gh, H + j, n));
      const V::Reg cell = tanh(gate_sum(gx, gh, 2 * H + j, n));
      const V::Reg o = sigmoid(gate_sum(gx, gh, 3 * H + j, n));
      const V::Reg c_next = V::fmadd(f, V::load(c + j, n), V::mul(i, cell));
      V::store(c + j, c_next, n);
      V::store(h + j, V::mul(o, tanh(c_next)), n);
    }
  }
}

/// GRU (gates r, z, n; PyTorch's reset-after form): `n = tanh(gx_n + r gh_n)`, `h' = n + z (h - n)`.
SEQNET_GATES_TARGET inline void gru(const GateRows& g) {
  const Eigen::Index H = g.hidden;
  for (Eigen::Index row = 0; row < g.rows; ++row) {
    const float* gx = g.gx + row * g.gx_stride;
    const float* gh = g.gh + row * g.gh_stride;
    const float* h_prev = g.h_prev + row * g.h_prev_stride;
    float* h = g.h_next + row * g.h_next_stride;
    for (Eigen::Index j = 0; j < H; j += V::lanes) {
      const int n = static_cast<int>(std::min<Eigen::Index>(V::lanes, H - j));
      const V::Reg r = sigmoid(gate_sum(gx, gh, j, n));
      const V::Reg z = sigmoid(gate_sum(gx, gh, H + j, n));
      const V::Reg candidate = tanh(V::fmadd(r, V::load(gh + 2 * H + j, n), V::load(gx + 2 * H + j, n)));
      V::store(h + j, V::fmadd(z, V::sub(V::load(h_prev + j, n), candidate), candidate), n);
    }
  }
}
