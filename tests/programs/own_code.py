"""2015-style code of one's own: a nolearn net trained after
`import theano_today`, wherever theano_today was installed. Prints where
theano_today came from and the predictions' shape, having imported every
module of the package."""
import theano_today  # noqa: F401

import numpy as np
from lasagne import layers
from lasagne.nonlinearities import softmax
from nolearn.lasagne import NeuralNet
from sklearn.cross_validation import train_test_split

rng = np.random.RandomState(0)
X = rng.rand(200, 4).astype("float32")
y = (X[:, 0] > 0.5).astype("int32")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
net = NeuralNet(layers=[("input", layers.InputLayer), ("output", layers.DenseLayer)],
                input_shape=(None, 4), output_num_units=2, output_nonlinearity=softmax,
                update_learning_rate=0.1, max_epochs=2, verbose=0)
net.fit(X_train, y_train)
print(theano_today.__file__)
# every module of the package imports here, away from the checkout
import importlib  # noqa: E402
import pkgutil  # noqa: E402

for module in pkgutil.iter_modules(theano_today.__path__):
    importlib.import_module("theano_today." + module.name)
print(net.predict(X_test).shape)
