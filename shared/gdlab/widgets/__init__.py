"""Live explorers, one module per kind.

The flagship explorers (:mod:`gdlab.widgets.live`) compute in the browser, so they stay
alive in the static HTML book as well as in JupyterLab and Colab. Every control has a
visible label and works from the keyboard (Tab to a control, arrow keys to move it), a
text readout states the result in words, and every figure carries alt text. Drive them
from code as a reader would by hand: ``explorer.lr = 0.9``.
"""

from .live import CurveExplorer, LandscapeExplorer, OptimizerRace, RegimeExplorer

__all__ = ["CurveExplorer", "LandscapeExplorer", "OptimizerRace", "RegimeExplorer"]
