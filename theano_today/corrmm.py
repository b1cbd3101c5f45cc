"""CorrMM's im2col and col2im without a test per value (CPU): corrmm_copies.

Theano's CPU convolution (CorrMM and its two gradients, Caffe's method)
copies each image's patches into columns (im2col) and adds the input
gradient's columns back into the image (col2im), in loops that test for
every value whether it lies inside the image, which keeps the compiler
from vectorizing them. For stride 1 and no dilation (the article's layers),
the columns inside the image are one range per row, known before the row
starts: these ops copy and add that range in a plain loop, fill the rest
with zeros, and leave other strides to Theano's loops. Same values, and
each image value's additions in the same order: results identical bit for
bit.

Turned off by THEANO_FLAGS=optimizer_excluding=corrmm.
"""
from theano import gof
from theano.tensor.nnet.corr import CorrMM, CorrMM_gradInputs, CorrMM_gradWeights

# The two functions, written for stride 1 and no dilation; any other case
# goes to Theano's own, renamed *_generic. T: the C float type.
_FAST_COPIES = """
// Rows of a fixed width WC, the width of the convolution's output: the
// article's rows are 6 to 30 values long, where a loop of unknown length
// spent more on its own control than on the copy. A switch picks the
// width's instance (1 to 32), a plain loop any other width. F: the float type.
template <int WC, typename F>
static inline void tt_copy_rows_n(F* __restrict__ col, const F* __restrict__ im,
                                  int rows, npy_intp im_ld) {
  for (int h = 0; h < rows; ++h)
    for (int w = 0; w < WC; ++w)
      col[(npy_intp)h * WC + w] = im[h * im_ld + w];
}
template <int WC, typename F>
static inline void tt_add_rows_n(F* __restrict__ im, const F* __restrict__ col,
                                 int rows, npy_intp im_ld) {
  for (int h = 0; h < rows; ++h)
    for (int w = 0; w < WC; ++w)
      im[h * im_ld + w] += col[(npy_intp)h * WC + w];
}
#define TT_WIDTHS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \\
  X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) \\
  X(27) X(28) X(29) X(30) X(31) X(32)
// `rows` rows of width wc, from the image (rows im_ld apart) into the columns
template <typename F>
static void tt_copy_rows(F* col, const F* im, int rows, int wc, npy_intp im_ld) {
  switch (wc) {
#define TT_COPY(n) case n: tt_copy_rows_n<n>(col, im, rows, im_ld); return;
    TT_WIDTHS(TT_COPY)
#undef TT_COPY
  }
  for (int h = 0; h < rows; ++h)
    for (int w = 0; w < wc; ++w)
      col[(npy_intp)h * wc + w] = im[h * im_ld + w];
}
// and back: each image value gets the column's value added, as in Theano's loop
template <typename F>
static void tt_add_rows(F* im, const F* col, int rows, int wc, npy_intp im_ld) {
  switch (wc) {
#define TT_ADD(n) case n: tt_add_rows_n<n>(im, col, rows, im_ld); return;
    TT_WIDTHS(TT_ADD)
#undef TT_ADD
  }
  for (int h = 0; h < rows; ++h)
    for (int w = 0; w < wc; ++w)
      im[h * im_ld + w] += col[(npy_intp)h * wc + w];
}

// one row of columns: w in [lo, hi) lies inside the image (and, given the
// height's numbers, the rows h in [lo, hi) of a column row)
static inline void inside_range(int w_offset, int pad_wl, int width, int width_col,
                                int *lo, int *hi) {
  *lo = pad_wl - w_offset;
  if (*lo < 0) *lo = 0;
  if (*lo > width_col) *lo = width_col;
  *hi = width + pad_wl - w_offset;
  if (*hi > width_col) *hi = width_col;
  if (*hi < *lo) *hi = *lo;
}

void im2col(const T* data_im, const int channels,
    const int height, const int width, const int kernel_h, const int kernel_w,
    const int dilation_h, const int dilation_w,
    const int pad_hl, const int pad_hr, const int pad_wl, const int pad_wr,
    const int stride_h, const int stride_w, T* data_col) {
  if (dilation_h != 1 || dilation_w != 1 || stride_h != 1 || stride_w != 1) {
    im2col_generic(data_im, channels, height, width, kernel_h, kernel_w, dilation_h,
                   dilation_w, pad_hl, pad_hr, pad_wl, pad_wr, stride_h, stride_w, data_col);
    return;
  }
  int height_col = height + pad_hl + pad_hr - kernel_h + 1;
  int width_col = width + pad_wl + pad_wr - kernel_w + 1;
  int channels_col = channels * kernel_h * kernel_w;
  for (int c = 0; c < channels_col; ++c) {
    int w_offset = c %% kernel_w;
    int h_offset = (c / kernel_w) %% kernel_h;
    int c_im = c / kernel_h / kernel_w;
    int lo, hi;
    inside_range(w_offset, pad_wl, width, width_col, &lo, &hi);
    if (lo == 0 && hi == width_col) {  // whole rows inside the image (no padding across)
      int h_lo, h_hi;
      inside_range(h_offset, pad_hl, height, height_col, &h_lo, &h_hi);
      T* col = data_col + (npy_intp)c * height_col * width_col;
      for (npy_intp k = 0; k < (npy_intp)h_lo * width_col; ++k) col[k] = 0.;
      for (npy_intp k = (npy_intp)h_hi * width_col; k < (npy_intp)height_col * width_col; ++k)
        col[k] = 0.;
      tt_copy_rows(col + (npy_intp)h_lo * width_col,
                   data_im + (npy_intp)(c_im * height + h_lo - pad_hl + h_offset) * width
                   + w_offset - pad_wl, h_hi - h_lo, width_col, (npy_intp)width);
      continue;
    }
    for (int h = 0; h < height_col; ++h) {
      int h_pad = h - pad_hl + h_offset;
      T* col = data_col + (npy_intp)(c * height_col + h) * width_col;
      if (h_pad < 0 || h_pad >= height) {
        for (int w = 0; w < width_col; ++w) col[w] = 0.;
        continue;
      }
      const T* im = data_im + (npy_intp)(c_im * height + h_pad) * width;
      int shift = w_offset - pad_wl;  // image column of column w: w + shift
      for (int w = 0; w < lo; ++w) col[w] = 0.;
      for (int w = lo; w < hi; ++w) col[w] = im[w + shift];
      for (int w = hi; w < width_col; ++w) col[w] = 0.;
    }
  }
}

// as Theano's: accumulates into data_im, which the caller zeroed
void col2im(const T* data_col, const int channels,
    const int height, const int width, const int patch_h, const int patch_w,
    const int dilation_h, const int dilation_w,
    const int pad_hl, const int pad_hr, const int pad_wl, const int pad_wr,
    const int stride_h, const int stride_w, T* data_im) {
  if (dilation_h != 1 || dilation_w != 1 || stride_h != 1 || stride_w != 1) {
    col2im_generic(data_col, channels, height, width, patch_h, patch_w, dilation_h,
                   dilation_w, pad_hl, pad_hr, pad_wl, pad_wr, stride_h, stride_w, data_im);
    return;
  }
  int height_col = height + pad_hl + pad_hr - patch_h + 1;
  int width_col = width + pad_wl + pad_wr - patch_w + 1;
  int channels_col = channels * patch_h * patch_w;
  // the same loops, in the same order, as Theano's: each image value
  // receives its additions in the same sequence
  for (int c = 0; c < channels_col; ++c) {
    int w_offset = c %% patch_w;
    int h_offset = (c / patch_w) %% patch_h;
    int c_im = c / patch_h / patch_w;
    int lo, hi;
    inside_range(w_offset, pad_wl, width, width_col, &lo, &hi);
    if (lo == 0 && hi == width_col) {  // whole rows inside the image
      int h_lo, h_hi;
      inside_range(h_offset, pad_hl, height, height_col, &h_lo, &h_hi);
      tt_add_rows(data_im + (npy_intp)(c_im * height + h_lo - pad_hl + h_offset) * width
                  + w_offset - pad_wl,
                  data_col + (npy_intp)(c * height_col + h_lo) * width_col,
                  h_hi - h_lo, width_col, (npy_intp)width);
      continue;
    }
    for (int h = 0; h < height_col; ++h) {
      int h_pad = h - pad_hl + h_offset;
      if (h_pad < 0 || h_pad >= height)
        continue;
      const T* col = data_col + (npy_intp)(c * height_col + h) * width_col;
      T* im = data_im + (npy_intp)(c_im * height + h_pad) * width;
      int shift = w_offset - pad_wl;
      for (int w = lo; w < hi; ++w) im[w + shift] += col[w];
    }
  }
}

"""


#: Where corr_gemm.c's op code starts, after its helper functions.
OP_CODE = "// Theano op code"


class _FastCopies(object):
    """CorrMM's C code with im2col and col2im replaced (a mix-in)."""

    def c_support_code_apply(self, node, nodename):
        code = super(_FastCopies, self).c_support_code_apply(node, nodename)
        start, end = code.find("void im2col("), code.find(OP_CODE)
        if start < 0 or end < start or "void col2im(" not in code[start:end]:
            raise NotImplementedError("corrmm_copies: Theano's corr_gemm.c is not the one "
                                      "of Theano 1.0.5")
        float_type = "npy_float" if node.inputs[0].dtype == "float32" else "npy_double"
        theirs = code[start:end].replace("void im2col(", "static void im2col_generic(").replace(
            "void col2im(", "static void col2im_generic(")
        ours = (_FAST_COPIES % {}).replace("T*", float_type + "*")
        return code[:start] + theirs + ours + code[end:]

    def c_code_cache_version(self):
        return super(_FastCopies, self).c_code_cache_version() + ("corrmm_copies", 3)


class FastCorrMM(_FastCopies, CorrMM):
    pass


class FastCorrMM_gradWeights(_FastCopies, CorrMM_gradWeights):
    pass


class FastCorrMM_gradInputs(_FastCopies, CorrMM_gradInputs):
    pass


FAST = {CorrMM: FastCorrMM, CorrMM_gradWeights: FastCorrMM_gradWeights,
        CorrMM_gradInputs: FastCorrMM_gradInputs}


def same_op_as(op_class, node):
    """The outputs of node's op rebuilt as op_class (the same properties and
    openmp), on the same inputs."""
    op = node.op
    new = op_class(openmp=op.openmp, **{name: getattr(op, name) for name in op.__props__})
    return gof.Apply(new, list(node.inputs), [out.type() for out in node.outputs]).outputs


@gof.local_optimizer(list(FAST))
def local_corrmm_copies(node):
    """CorrMM, CorrMM_gradWeights, CorrMM_gradInputs -> the same op with
    the faster copies (same properties, same inputs)."""
    fast = FAST.get(type(node.op))
    return None if fast is None else same_op_as(fast, node)


# Where theano_today.speedups registers them (tag corrmm): after the choice of
# convolution implementation (specialize_device, 48.6).
REWRITES = {"local_corrmm_copies": local_corrmm_copies}
