"""Import MODULE (lasagne, or Theano's GPU back end) where pkg_resources is
not installed (recent setuptools), with theano_today's other fixes; without
--fixed its pkg_resources stand-in is undone.

    python tests/programs/pkg_resources_gone.py MODULE [--fixed]
"""
import importlib
import sys

sys.modules["pkg_resources"] = None  # as if setuptools >= 81
import theano_today  # noqa: E402,F401

if "--fixed" not in sys.argv:
    sys.modules["pkg_resources"] = None
    # theano_today may have imported it already: import it afresh
    for name in [n for n in sys.modules if (n + ".").startswith(sys.argv[1] + ".")]:
        del sys.modules[name]
module = importlib.import_module(sys.argv[1])
print(getattr(module, "__version__", "imported"))
