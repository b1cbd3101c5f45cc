"""The convolution's small per-image products in registers (CPU): conv_blocks.

CorrMM (after corrmm's copies) multiplies, for every image, its columns by
the filters: products of 9 to 128 terms over 36 to 900 positions, through
the BLAS's sgemm_. OpenBLAS packs both operands first, which for products
this small costs about as much as the arithmetic, and it runs the kernels
of its core type, which on an AVX-512 CPU may be AVX2 ones (a machine's
OPENBLAS_CORETYPE, or a CPU its version does not know).

Here such a product, both operands within SMALL_OPERAND values, runs in
blocks held in AVX-512 registers, reading the operands where they lie: 8
rows of 32 values (the row's last block 1 to 48), or for the filters'
gradient over 128 positions or more, 4 x 4 dot products. Any other product
(larger, other alphas or betas, doubles) still goes to the BLAS. The
blocks take the products where g++ targets AVX-512 and the BLAS is
Theano's fallback or an OpenBLAS running other than AVX-512 kernels; with
its own AVX-512 kernels OpenBLAS is as fast on these sizes, and a BLAS
other than OpenBLAS keeps them too. Each value sums the same products in
another order than the BLAS: results agree to float32 rounding.

Applies to corrmm's ops (excluding corrmm leaves Theano's CorrMM as it is).
Turned off by THEANO_FLAGS=optimizer_excluding=conv_blocks.
"""
import functools
import hashlib
import subprocess

import theano
from theano import gof

from theano_today import blas, speedups
from theano_today.corrmm import (OP_CODE, FastCorrMM, FastCorrMM_gradInputs,
                                 FastCorrMM_gradWeights, same_op_as)

# tt_sgemm: sgemm_'s arguments (column-major, Fortran style); the products
# of the three convolution directions run here, the rest in the BLAS.
_SMALL_PRODUCTS = r"""
#if defined(__AVX512F__)
#include <immintrin.h>
#include <vector>

// TT_SMALL_OPERAND (SMALL_OPERAND below): the most values an operand may
// have for the blocks, both then in the L2 cache of one core.
// Sums of at least this many terms run as dot products (tt_dots); shorter
// ones, whose horizontal additions would cost as much as the products, as rows.
#ifndef TT_DOTS_FROM
#define TT_DOTS_FROM 128
#endif
// Loops over a block's registers, unrolled whole: g++ otherwise keeps the
// accumulators in memory as well, a store for every product.
#define TT_UNROLL _Pragma("GCC unroll 16")

// Rows j of the result (at C + j*ldc) as sums over l of S[j*sj + l*sl]
// times the row l of R (at R + l*ldr): ROWS rows of VECS x 16 values at a
// time in registers, summed from l = 0 up as a BLAS kernel does; `last`
// masks the last vector's values. add: C += the sums, else C = the sums.
template <int ROWS, int VECS>
static inline void tt_rows_block(int L, const float* S, npy_intp sj, npy_intp sl,
                                 const float* R, npy_intp ldr, float* C, npy_intp ldc,
                                 __mmask16 last, bool add) {
  __m512 acc[ROWS][VECS];
  TT_UNROLL for (int r = 0; r < ROWS; ++r)
    TT_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int l = 0; l < L; ++l) {
    __m512 x[VECS];
    TT_UNROLL for (int v = 0; v < VECS; ++v)
      x[v] = _mm512_maskz_loadu_ps(v == VECS - 1 ? last : (__mmask16)0xFFFF,
                                   R + l * ldr + 16 * v);
    TT_UNROLL for (int r = 0; r < ROWS; ++r) {
      __m512 s = _mm512_set1_ps(S[r * sj + l * sl]);
      TT_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = _mm512_fmadd_ps(s, x[v], acc[r][v]);
    }
  }
  TT_UNROLL for (int r = 0; r < ROWS; ++r)
    TT_UNROLL for (int v = 0; v < VECS; ++v) {
      __mmask16 m = v == VECS - 1 ? last : (__mmask16)0xFFFF;
      float* c = C + r * ldc + 16 * v;
      // as the BLAS does: the sums added to C, or to zeros for beta = 0
      __m512 base = add ? _mm512_maskz_loadu_ps(m, c) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(c, m, _mm512_add_ps(base, acc[r][v]));
    }
}

static void tt_rows(int J, int I, int L, const float* S, npy_intp sj, npy_intp sl,
                    const float* R, npy_intp ldr, float* C, npy_intp ldc, bool add) {
  for (int i = 0; i < I; ) {
    // 32 values a block, or the last 33 to 48 in one (no block of a few)
    int left = I - i <= 48 ? I - i : 32;
    int vecs = (left + 15) / 16;
    __mmask16 last = (__mmask16)(0xFFFFu >> (16 * vecs - left));
    for (int j = 0; j < J; j += 8) {
      int rows = J - j < 8 ? J - j : 8;
      const float* s = S + j * sj;
      float* c = C + j * ldc + i;
      switch (rows * 4 + vecs) {
#define TT_ROWS(n) \
        case n * 4 + 1: tt_rows_block<n, 1>(L, s, sj, sl, R + i, ldr, c, ldc, last, add); break; \
        case n * 4 + 2: tt_rows_block<n, 2>(L, s, sj, sl, R + i, ldr, c, ldc, last, add); break; \
        case n * 4 + 3: tt_rows_block<n, 3>(L, s, sj, sl, R + i, ldr, c, ldc, last, add); break;
        TT_ROWS(1) TT_ROWS(2) TT_ROWS(3) TT_ROWS(4) TT_ROWS(5) TT_ROWS(6) TT_ROWS(7) TT_ROWS(8)
#undef TT_ROWS
      }
    }
    i += left;
  }
}

// The sums of PR x QR vectors' values added to C (row p at C + p*ldc), or
// written for add = false: one horizontal sum each ...
template <int PR, int QR>
struct tt_dots_out {
  static inline void store(__m512 (*acc)[QR], float* C, npy_intp ldc, bool add) {
    TT_UNROLL for (int p = 0; p < PR; ++p)
      TT_UNROLL for (int q = 0; q < QR; ++q) {
        float* c = C + p * ldc + q;
        *c = (add ? *c : 0.0f) + _mm512_reduce_add_ps(acc[p][q]);
      }
  }
};
// ... but a whole 4 x 4 block's, which cost as much as the products for
// short sums, in one tree: halves of pairs added, interleaved, until lane q
// of 128-bit part p holds the sum of acc[p][q].
template <>
struct tt_dots_out<4, 4> {
  static inline void store(__m512 (*acc)[4], float* C, npy_intp ldc, bool add) {
    const __m512* a = &acc[0][0];
    __m512 t[8], u[4], w[2];
    TT_UNROLL for (int i = 0; i < 8; ++i)  // a[2i] in lanes 0 and 2, a[2i + 1] in 1 and 3
      t[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                           _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    TT_UNROLL for (int i = 0; i < 4; ++i)  // a[4i + j] in lane j, per 128-bit part
      u[i] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0x44),
                           _mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0xEE));
    TT_UNROLL for (int i = 0; i < 2; ++i)  // two parts each
      w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88),
                           _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xDD));
    __m512 sums = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x88),
                                _mm512_shuffle_f32x4(w[0], w[1], 0xDD));
    __m128 row[4] = {_mm512_extractf32x4_ps(sums, 0), _mm512_extractf32x4_ps(sums, 1),
                     _mm512_extractf32x4_ps(sums, 2), _mm512_extractf32x4_ps(sums, 3)};
    TT_UNROLL for (int p = 0; p < 4; ++p) {
      float* c = C + p * ldc;
      _mm_storeu_ps(c, _mm_add_ps(add ? _mm_loadu_ps(c) : _mm_setzero_ps(), row[p]));
    }
  }
};

// C[j*ldc + i] (+)= the dot product of the rows P + j*ldp and Q + i*ldq, of
// L values: PR x QR of them at a time, 16 terms per step.
template <int PR, int QR>
static inline void tt_dots_block(int L, const float* P, npy_intp ldp, const float* Q,
                                 npy_intp ldq, float* C, npy_intp ldc, bool add) {
  __m512 acc[PR][QR];
  TT_UNROLL for (int p = 0; p < PR; ++p)
    TT_UNROLL for (int q = 0; q < QR; ++q) acc[p][q] = _mm512_setzero_ps();
  for (int l = 0; l < L; l += 16) {
    __mmask16 m = L - l >= 16 ? (__mmask16)0xFFFF : (__mmask16)(0xFFFFu >> (16 - (L - l)));
    __m512 y[QR];
    TT_UNROLL for (int q = 0; q < QR; ++q) y[q] = _mm512_maskz_loadu_ps(m, Q + q * ldq + l);
    TT_UNROLL for (int p = 0; p < PR; ++p) {
      __m512 x = _mm512_maskz_loadu_ps(m, P + p * ldp + l);
      TT_UNROLL for (int q = 0; q < QR; ++q) acc[p][q] = _mm512_fmadd_ps(x, y[q], acc[p][q]);
    }
  }
  tt_dots_out<PR, QR>::store(acc, C, ldc, add);
}

static void tt_dots(int J, int I, int L, const float* P, npy_intp ldp, const float* Q,
                    npy_intp ldq, float* C, npy_intp ldc, bool add) {
  for (int j = 0; j < J; j += 4)
    for (int i = 0; i < I; i += 4) {
      int pr = J - j < 4 ? J - j : 4, qr = I - i < 4 ? I - i : 4;
      const float* p = P + j * ldp;
      const float* q = Q + i * ldq;
      float* c = C + j * ldc + i;
      switch (pr * 8 + qr) {
#define TT_DOTS(n) \
        case n * 8 + 1: tt_dots_block<n, 1>(L, p, ldp, q, ldq, c, ldc, add); break; \
        case n * 8 + 2: tt_dots_block<n, 2>(L, p, ldp, q, ldq, c, ldc, add); break; \
        case n * 8 + 3: tt_dots_block<n, 3>(L, p, ldp, q, ldq, c, ldc, add); break; \
        case n * 8 + 4: tt_dots_block<n, 4>(L, p, ldp, q, ldq, c, ldc, add); break;
        TT_DOTS(1) TT_DOTS(2) TT_DOTS(3) TT_DOTS(4)
#undef TT_DOTS
      }
    }
}

// sgemm_ for one image's products: C = op(A) op(B) (+ C), column-major.
// Seen row by row (row j of C is its column j): C[j][i] = sum over l of
// op(B)(l, j) op(A)(i, l). A not transposed: rows l of A are contiguous
// (tt_rows); A transposed and B not: dot products of columns (tt_dots).
static void tt_sgemm(char* transa, char* transb, const int* m, const int* n,
                     const int* k, const float* alpha, const float* A, const int* lda,
                     const float* B, const int* ldb, const float* beta, float* C,
                     const int* ldc) {
  bool ta = *transa == 'T' || *transa == 't' || *transa == 'C' || *transa == 'c';
  bool tb = *transb == 'T' || *transb == 't' || *transb == 'C' || *transb == 'c';
  bool add = *beta == 1.0f;
  if (*alpha != 1.0f || !(add || *beta == 0.0f) || *m <= 0 || *n <= 0 || *k <= 0
      || (npy_intp)*m * *k > TT_SMALL_OPERAND || (npy_intp)*n * *k > TT_SMALL_OPERAND
      || (ta && tb)) {
    // non-const operands, as Theano's calls: with Theano's fallback BLAS,
    // only its overload for them is defined
    sgemm_(transa, transb, m, n, k, alpha, (float*)A, lda, (float*)B, ldb, beta, C, ldc);
    return;
  }
  if (ta && *k >= TT_DOTS_FROM) {
    tt_dots(*n, *m, *k, B, *ldb, A, *lda, C, *ldc, add);
    return;
  }
  const float* R = A;
  npy_intp ldr = *lda;
  if (ta) {  // short sums: A's columns copied into rows, for tt_rows
    static thread_local std::vector<float> rows;
    rows.resize((size_t)*m * *k);
    for (int i = 0; i < *m; ++i)
      for (int l = 0; l < *k; ++l) rows[(size_t)l * *m + i] = A[l + (npy_intp)i * *lda];
    R = rows.data();
    ldr = *m;
  }
  tt_rows(*n, *m, *k, B, tb ? 1 : *ldb, tb ? *ldb : 1, R, ldr, C, *ldc, add);
}
#else
#define tt_sgemm sgemm_
#endif

"""


#: The most values an operand of a product in the blocks may have (256 KB).
SMALL_OPERAND = 65536
_SMALL_PRODUCTS = "#define TT_SMALL_OPERAND %d\n%s" % (SMALL_OPERAND, _SMALL_PRODUCTS)
_DIGEST = hashlib.sha1(_SMALL_PRODUCTS.encode()).hexdigest()[:12]


class _SmallProducts(object):
    """corrmm's ops with their float32 products through tt_sgemm (a mix-in)."""

    def c_support_code_apply(self, node, nodename):
        code = super(_SmallProducts, self).c_support_code_apply(node, nodename)
        if node.inputs[0].dtype != "float32":
            return code
        at = code.find(OP_CODE)
        if at < 0 or code.count("sgemm_(", at) < 3:
            raise NotImplementedError("conv_blocks: Theano's corr_gemm.c is not the one of "
                                      "Theano 1.0.5")
        return code[:at] + _SMALL_PRODUCTS + code[at:].replace("sgemm_(", "tt_sgemm(")

    def c_code_cache_version(self):
        # the code's own digest: a changed kernel is never taken from the cache
        return super(_SmallProducts, self).c_code_cache_version() + ("conv_blocks", _DIGEST)


class BlockedCorrMM(_SmallProducts, FastCorrMM):
    pass


class BlockedCorrMM_gradWeights(_SmallProducts, FastCorrMM_gradWeights):
    pass


class BlockedCorrMM_gradInputs(_SmallProducts, FastCorrMM_gradInputs):
    pass


BLOCKED = {FastCorrMM: BlockedCorrMM, FastCorrMM_gradWeights: BlockedCorrMM_gradWeights,
           FastCorrMM_gradInputs: BlockedCorrMM_gradInputs}


#: OpenBLAS's core types with AVX-512 kernels (small-matrix ones among them)
AVX512_CORES = ("skylakex", "cooperlake", "sapphirerapids")


@functools.lru_cache(maxsize=None)
def blas_keeps_products(ldflags):
    """Why the BLAS that ldflags links keeps the convolutions' products, in
    words, or None where the blocks take them: Theano's fallback BLAS, or
    an OpenBLAS with kernels of another core type."""
    if not ldflags.strip():
        return None
    info = blas.openblas_info(ldflags)
    if info is None:
        return "a BLAS other than OpenBLAS: blas.ldflags=%s" % ldflags
    if info["core"].lower() in AVX512_CORES:
        return "its own AVX-512 kernels, core type %s" % info["core"]
    return None


@gof.local_optimizer(list(BLOCKED))
def local_conv_blocks(node):
    """FastCorrMM and its gradients -> the same op with tt_sgemm (same
    properties, same inputs), unless the BLAS keeps the products."""
    blocked = BLOCKED.get(type(node.op))
    if blocked is None or blas_keeps_products(theano.config.blas.ldflags):
        return None
    return same_op_as(blocked, node)


def where_products_run():
    """Where the convolutions' float32 products run, in words: in these
    blocks when the rewrite is on, the BLAS leaves them, and Theano's g++
    flags target AVX-512 (asked of g++ itself), else in the BLAS."""
    from theano.gof.cmodule import GCC_compiler
    off = speedups.tags("conv_blocks") | speedups.tags("corrmm")  # the blocks rewrite corrmm's ops
    excluded = [t for t in theano.config.optimizer_excluding.split(":") if t in off]
    if excluded:
        return "the BLAS (optimizer_excluding=%s)" % excluded[0]
    try:
        done = subprocess.run([theano.config.cxx, "-dM", "-E", "-x", "c++", "-"]
                              + GCC_compiler.compile_args(), input="", capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "unknown (%s did not answer)" % theano.config.cxx
    if "__AVX512F__" not in done.stdout:
        return "the BLAS (g++ does not target AVX-512 here)"
    keeps = blas_keeps_products(theano.config.blas.ldflags)
    return "the BLAS (%s)" % keeps if keeps else "conv_blocks's AVX-512 blocks"


# Where theano_today.speedups registers it (tag conv_blocks): after corrmm (48.75).
REWRITES = {"local_conv_blocks": local_conv_blocks}
