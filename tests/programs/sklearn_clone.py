"""scikit-learn's clone of the tutorial's nolearn net (what get_params,
repr, GridSearchCV and cross_val_score do first). theano_today is always
imported (Theano needs it); without --fixed its nolearn mend is undone."""
import sys

import theano_today  # noqa: F401
from nolearn.lasagne import NeuralNet
from sklearn.base import clone

import mlp

if "--fixed" not in sys.argv:
    NeuralNet.__init__ = NeuralNet.__init__.__wrapped__
    NeuralNet.get_params = NeuralNet.get_params.__wrapped__
    del NeuralNet.loss, NeuralNet.X_tensor_type
twin = clone(mlp.build_mlp(verbose=0))
print(type(twin).__name__, twin.hidden_num_units)
