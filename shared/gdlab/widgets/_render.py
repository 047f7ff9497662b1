"""What the explorers of chapters 01, 03, 04 and 08 share, and one Matplotlib helper.

:class:`BrowserExplorer` is the base of the explorers that draw in the browser: an
:class:`~gdlab.widgets.live._Explorer` (one ES module, ``explorers.js``, one renderer per
``kind``) that also hands the browser the course's palette and the names of the settings a
link should reproduce. :func:`png_html` turns a Matplotlib figure into an ``<img>`` tag with
alt text, for the widgets that still draw in Python.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ..plotting import PALETTE, SEQUENCE
from .live import _Explorer

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BrowserExplorer", "png_html"]


def png_html(figure: Figure, alt: str) -> str:
    """The figure as an ``<img>`` tag with alt text, for an ``ipywidgets.HTML`` view."""
    buffer = io.BytesIO()
    # Light compression: the image is re-sent on every change, and encoding time matters.
    FigureCanvasAgg(figure).print_png(buffer, pil_kwargs={"compress_level": 1})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'


class BrowserExplorer(_Explorer):
    """An explorer whose figure and readout are computed and drawn in the browser.

    Subclasses name their renderer (``KIND``) and the settings a link reproduces
    (``URL_TRAITS``); every setting is a synced trait, so ``explorer.delta = 2.0`` moves
    the view as the slider would, and reading it back gives what the page shows.
    """

    KIND = ""
    URL_TRAITS: tuple[str, ...] = ()
    palette = traitlets.Dict().tag(sync=True)  # gdlab.plotting's colours, by role and in sequence
    url_traits = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("palette", {"roles": dict(PALETTE), "sequence": list(SEQUENCE)})
        kwargs.setdefault("url_traits", list(self.URL_TRAITS))
        super().__init__(**kwargs)
        self.set_trait("kind", self.KIND)
