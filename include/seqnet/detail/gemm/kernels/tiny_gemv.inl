// SPDX-License-Identifier: MIT
// The single-row product of tiny_step.hpp, `out = bias + sum_k z[k] * w[k]` (each `w[k]` a row of `ld`
// outputs), written once and compiled once per instruction set as gemm_driver.inl is: tiny_step.hpp opens a
// namespace, defines SEQNET_TINY_TARGET and brings in `Vec<T>` (a GEMM kernel's vector operations), then
// includes this file. No include guard. Every function carries SEQNET_TINY_TARGET so the intrinsics inline.

/// `Vectors` output vectors held in registers for the whole depth: each weight is loaded once, each
/// input element broadcast once.
template <int Vectors, typename T>
SEQNET_TINY_TARGET inline void tiny_gemv_block(const T* w, Eigen::Index ld, const T* z, Eigen::Index depth,
                                               const T* bias, T* out) {
  using V = Vec<T>;
  typename V::Reg acc[Vectors];
  for (int j = 0; j < Vectors; ++j) acc[j] = V::load(bias + j * V::lanes);
  for (Eigen::Index k = 0; k < depth; ++k) {
    const typename V::Reg zk = V::broadcast(z + k);
    const T* row = w + k * ld;
    for (int j = 0; j < Vectors; ++j) acc[j] = V::fmadd(zk, V::load(row + j * V::lanes), acc[j]);
  }
  for (int j = 0; j < Vectors; ++j) V::store(out + j * V::lanes, acc[j]);
}

/// All `ld` outputs (a multiple of the vector width): blocks of eight vectors, then one block of the rest,
/// so even a tail keeps independent accumulators instead of one serial chain per vector.
template <typename T>
SEQNET_TINY_TARGET inline void tiny_gemv(const T* w, Eigen::Index ld, const T* z, Eigen::Index depth, const T* bias,
                                         T* out) {
  constexpr Eigen::Index lanes = Vec<T>::lanes, block = 8 * lanes;
  Eigen::Index r = 0;
  for (; r + block <= ld; r += block) tiny_gemv_block<8>(w + r, ld, z, depth, bias + r, out + r);
  switch ((ld - r) / lanes) {
    case 7: tiny_gemv_block<7>(w + r, ld, z, depth, bias + r, out + r); break;
    case 6: tiny_gemv_block<6>(w + r, ld, z, depth, bias + r, out + r); break;
    case 5: tiny_gemv_block<5>(w + r, ld, z, depth, bias + r, out + r); break;
    case 4: tiny_gemv_block<4>(w + r, ld, z, depth, bias + r, out + r); break;
    case 3: tiny_gemv_block<3>(w + r, ld, z, depth, bias + r, out + r); break;
    case 2: tiny_gemv_block<2>(w + r, ld, z, depth, bias + r, out + r); break;
    case 1: tiny_gemv_block<1>(w + r, ld, z, depth, bias + r, out + r); break;
    default: break;
  }
}
