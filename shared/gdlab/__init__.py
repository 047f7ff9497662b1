"""gdlab: the small helper package behind the Downhill course.

The core (losses, landscapes, optimizers and :func:`descend`) needs only NumPy, so
``import gdlab`` stays fast. Plotting and widgets load Matplotlib and ipywidgets the
first time they are used; PyTorch is imported only by the modules that train torch models.

>>> import gdlab
>>> run = gdlab.descend(gdlab.landscapes.valley, 0.0, gdlab.optim.sgd(lr=0.1), steps=20)
>>> round(float(run.positions[-1, 0]), 4)
1.9769
"""

from importlib import import_module

from . import data, landscapes, losses, optim
from .descent import Trajectory, descend

__all__ = [
    "Trajectory",
    "curves",
    "data",
    "descend",
    "landscapes",
    "loss_slices",
    "losses",
    "optim",
    "plotting",
    "training",
    "widgets",
]
__version__ = "0.1.0"

# Loaded on first attribute access: Matplotlib, ipywidgets/anywidget and torch are heavy.
_LAZY_SUBMODULES = {"plotting", "widgets", "training", "curves", "loss_slices"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gdlab' has no attribute {name!r}")
