"""Live explorers: controls wired to pure functions, redrawn on every change.

One module per explorer. Every control has a visible label and works from the keyboard
(Tab to a slider, arrow keys to move it), a text readout states the result in words, and
every figure carries alt text describing what it shows. Drive them from code as a reader
would by hand: ``explorer.lr.value = 0.9``.
"""

from .explorer_1d import Explorer1D

__all__ = ["Explorer1D"]
