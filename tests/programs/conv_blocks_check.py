"""Where conv_blocks says the convolutions' products run, and what they
give: the second conv layer of the article's CNN and both its gradients,
with and without conv_blocks. Prints that place, then 'identical' or
'differ' (the blocks sum in another order than the BLAS)."""
import theano_today  # noqa: F401

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d

from theano_today import conv_blocks

x, k, g = T.tensor4("x"), T.tensor4("k"), T.tensor4("g")
out = conv2d(x, k, input_shape=(None, 16, 15, 15), filter_shape=(32, 16, 2, 2))
outputs = [out] + T.grad((out * g).sum(), [x, k])
mode = theano.compile.get_default_mode()
blocks = theano.function([x, k, g], outputs, mode=mode)
blas = theano.function([x, k, g], outputs, mode=mode.excluding("conv_blocks"))
rng = np.random.RandomState(0)
data = [rng.randn(*shape).astype("float32")
        for shape in ((128, 16, 15, 15), (32, 16, 2, 2), (128, 32, 14, 14))]
same = all(np.array_equal(a, b) for a, b in zip(blocks(*data), blas(*data)))
print(conv_blocks.where_products_run())
print("identical" if same else "differ")
