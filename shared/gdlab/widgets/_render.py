"""Turning a Matplotlib figure into an accessible image for a widget."""

import base64
import html
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = ["png_html"]


def png_html(figure, alt):
    """The figure as an ``<img>`` tag with alt text, for an ``ipywidgets.HTML`` view."""
    buffer = io.BytesIO()
    # Light compression: the image is re-sent on every change, and encoding time matters.
    FigureCanvasAgg(figure).print_png(buffer, pil_kwargs={"compress_level": 1})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'
