r"""The regularization explorer of chapter 08: weight decay, dropout and epochs on an overfitting fit.

Training a network takes a second; moving a slider must take milliseconds. So the explorer
browses runs recorded ahead of time (:func:`gdlab.regularization.precompute_grid`: a grid
of weight decays times dropout rates, every epoch), and trains nothing itself. The page
carries the grid compactly (:func:`encode_grid`: losses and fitted functions as 16-bit
steps between their extremes, about 4 significant digits, the fitted functions on every
fifth input), so the explorer responds in the static book as it does in a kernel. Every
setting is a synced trait; :meth:`RegularizationExplorer.compute` reads the full-precision
grid.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets

from ..regularization import STATUSES, RegularizationGrid, status
from ._render import BrowserExplorer

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["RegularizationExplorer", "decode_grid", "encode_grid"]

_LEVELS = 65535  # 16-bit steps


def _quantize(values: ArrayLike, log: bool = False) -> dict[str, Any]:
    """``values`` as 16-bit steps between their extremes (of log10 if ``log``), base64."""
    v = np.log10(values) if log else np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else 1.0
    steps = np.round((v - lo) / span * _LEVELS).astype("<u2")
    text = base64.b64encode(steps.tobytes()).decode("ascii")
    return {"lo": lo, "hi": lo + span, "log": log, "shape": list(v.shape), "data": text}


def _dequantize(packed: dict[str, Any]) -> NDArray[np.float64]:
    steps = np.frombuffer(base64.b64decode(packed["data"]), dtype="<u2").astype(np.float64)
    lo: float = packed["lo"]
    hi: float = packed["hi"]
    v = lo + steps * ((hi - lo) / _LEVELS)
    v = 10**v if packed["log"] else v
    return v.reshape(packed["shape"])


def encode_grid(grid: RegularizationGrid, every: int = 5) -> dict[str, Any]:
    """What the page carries of a :class:`~gdlab.regularization.RegularizationGrid`.

    Losses of every run and epoch (log scale), the fitted functions on every ``every``-th
    input of the grid, and, computed here at full precision, each epoch's status and RMS
    distance to the true function, so that the page states what Python would.
    """
    W, D, E = grid.train_loss.shape
    keep = slice(every // 2, None, every)
    status_codes = [
        STATUSES.index(status(grid.val_loss[i, j], k))
        for i in range(W)
        for j in range(D)
        for k in range(1, E + 1)
    ]
    packed = {
        "weight_decays": list(grid.weight_decays),
        "dropouts": list(grid.dropouts),
        "epochs": grid.epochs,
        "x": np.round(grid.x_grid[keep], 4).tolist(),
        "x_train": np.round(grid.x_train, 4).tolist(),
        "y_train": np.round(grid.y_train, 4).tolist(),
        "x_val": np.round(grid.x_val, 3).tolist(),
        "y_val": np.round(grid.y_val, 3).tolist(),
        "true_curve": None if grid.true_curve is None else np.round(grid.true_curve[keep], 4).tolist(),
        "train_loss": _quantize(grid.train_loss, log=True),
        "val_loss": _quantize(grid.val_loss, log=True),
        "predictions": _quantize(grid.predictions[..., keep]),
        "best_epoch": (np.argmin(grid.val_loss, axis=-1) + 1).tolist(),
        "statuses": list(STATUSES),
        "status": "".join(str(code) for code in status_codes),
        "rms_to_truth": None,
    }
    if grid.true_curve is not None:
        rms = np.sqrt(np.mean((grid.predictions - grid.true_curve) ** 2, axis=-1))
        packed["rms_to_truth"] = _quantize(rms, log=True)
    return packed


def decode_grid(packed: dict[str, Any]) -> dict[str, NDArray[np.float64]]:
    """The arrays the browser reads from :func:`encode_grid`'s output (for tests)."""
    out = {name: _dequantize(packed[name]) for name in ("train_loss", "val_loss", "predictions")}
    if packed["rms_to_truth"] is not None:
        out["rms_to_truth"] = _dequantize(packed["rms_to_truth"])
    return out


class RegularizationExplorer(BrowserExplorer):
    """Weight decay, dropout and epochs over the loss curves and the fitted function of a stored grid.

    Left: training and validation loss against epoch (log scale): the whole run faint, the
    epochs up to the slider bold. Right: the fitted function after that epoch over the
    training points, the validation points and (if known) the true function. Moving a
    control only looks up stored numbers. Drive it from code as a reader would by hand:
    ``explorer.weight_decay = 1.0``; :attr:`state` holds the numbers the readout states.
    """

    KIND = "regularization"
    URL_TRAITS = ("weight_decay", "dropout", "epoch")

    weight_decay = traitlets.Float().tag(sync=True)
    dropout = traitlets.Float().tag(sync=True)
    epoch = traitlets.Int().tag(sync=True)
    runs = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        grid: RegularizationGrid,
        weight_decay: float | None = None,
        dropout: float | None = None,
        epoch: int | None = None,
    ) -> None:
        if not isinstance(grid, RegularizationGrid):
            raise ValueError(
                f"grid must be a RegularizationGrid from precompute_grid, got {type(grid).__name__}"
            )
        self.grid = grid
        weight_decay = grid.weight_decays[0] if weight_decay is None else weight_decay
        dropout = grid.dropouts[0] if dropout is None else dropout
        epoch = grid.epochs if epoch is None else epoch
        super().__init__(weight_decay=weight_decay, dropout=dropout, epoch=epoch, runs=encode_grid(grid))

    @traitlets.validate("weight_decay")
    def _check_weight_decay(self, proposal: dict[str, Any]) -> float:
        weight_decay: float = proposal["value"]
        self.grid.position(weight_decay, self.grid.dropouts[0])  # refuses values not computed
        return weight_decay

    @traitlets.validate("dropout")
    def _check_dropout(self, proposal: dict[str, Any]) -> float:
        dropout: float = proposal["value"]
        self.grid.position(self.grid.weight_decays[0], dropout)
        return dropout

    @traitlets.validate("epoch")
    def _check_epoch(self, proposal: dict[str, Any]) -> int:
        epoch: int = proposal["value"]
        if isinstance(epoch, bool) or not 1 <= epoch <= self.grid.epochs:
            raise ValueError(f"epoch must be an integer between 1 and {self.grid.epochs}, got {epoch!r}")
        return epoch

    def compute(self) -> dict[str, Any]:
        """The stored numbers for the current settings (no drawing): a dict."""
        grid = self.grid
        i, j = grid.position(self.weight_decay, self.dropout)
        k = int(self.epoch)
        train, val = grid.train_loss[i, j], grid.val_loss[i, j]
        best = int(np.argmin(val)) + 1
        state = {
            "weight_decay": grid.weight_decays[i],
            "dropout": grid.dropouts[j],
            "epoch": k,
            "train_loss": float(train[k - 1]),
            "val_loss": float(val[k - 1]),
            "best_epoch": best,
            "best_val_loss": float(val[best - 1]),
            "prediction": grid.predictions[i, j, k - 1],
            "status": status(val, k),
            "rms_to_truth": None,
        }
        if grid.true_curve is not None:
            state["rms_to_truth"] = float(np.sqrt(np.mean((state["prediction"] - grid.true_curve) ** 2)))
        return state

    @property
    def state(self) -> dict[str, Any]:
        return self.compute()
