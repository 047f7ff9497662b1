"""gdlab: the small helper package behind the Downhill course.

The core (losses, surfaces, optimizers and :func:`descend`) needs only NumPy, so
``import gdlab`` stays fast. Every other public module is an attribute too, loaded the
first time it is used: plotting and widgets bring Matplotlib and ipywidgets, and the
modules that train torch models bring PyTorch.

>>> import gdlab
>>> run = gdlab.descend(gdlab.surfaces.valley, 0.0, gdlab.optim.sgd(lr=0.1), steps=20)
>>> round(float(run.positions[-1, 0]), 4)
1.9769
"""

from importlib import import_module
from types import ModuleType

from . import data, descent, losses, optim, surfaces
from .descent import Trajectory, descend

# Public modules loaded on first attribute access (some pull in torch or Matplotlib).
_LAZY_SUBMODULES = (
    "claims",
    "critical",
    "curves",
    "fitting",
    "formula",
    "loss_slices",
    "lr_finder",
    "minibatch",
    "models",
    "plotting",
    "recorded",
    "regimes",
    "regularization",
    "schedules",
    "torch_check",
    "training",
    "widgets",
)

__all__ = [
    "Trajectory",
    "data",
    "descend",
    "descent",
    "losses",
    "optim",
    "surfaces",
    *_LAZY_SUBMODULES,
]
__version__ = "0.1.0"


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY_SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gdlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES})
