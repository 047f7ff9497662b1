"""Sphinx extension: the book serves every script it needs itself, so it works offline.

Copies pinned copies of require.js, @jupyter-widgets/html-manager's embed-amd.js (from
node_modules, installed by `npm ci` from package-lock.json) and anywidget's AMD front end
(from the pinned Python package) into _static/vendor/, with MathJax for the maths, a
one-line require.config that maps the "anywidget" module to the local copy, and a small
shim that lets the widget manager typeset with MathJax 3. _config.yml points myst-nb's
nb_ipywidgets_js and Sphinx's mathjax_path at these files.

It also keeps the pages light: each page embeds only the widgets it shows, and the
figures are stored with a colour palette where that changes nothing visible.
"""

import json
import re
import shutil
from importlib.resources import files
from pathlib import Path

from sphinx.errors import ExtensionError

# Maps the "anywidget" module to our copy, and the widget manager's own folder to ours so
# that the icon fonts it asks for are found next to it.
REQUIRE_CONFIG = (
    "(function () { var here = document.currentScript.src.replace(/require-config\\.js(\\?.*)?$/, ''); "
    "require.config({paths: {'anywidget': here + 'anywidget', "
    "'@jupyter-widgets/html-manager/dist': here.slice(0, -1)}}); })();\n"
)

# The widget manager typesets widget labels with MathJax 2's `MathJax.Hub.Queue`; the book
# loads MathJax 3, which has no Hub, so every ipywidgets page raised a TypeError. This
# shim gives whatever object becomes `window.MathJax` a small, non-enumerable Hub whose
# Queue typesets with MathJax 3 instead. It runs before MathJax (a deferred script), and
# re-attaches the Hub when MathJax replaces its configuration object with itself.
MATHJAX_HUB_SHIM = """(function () {
  function queue(job) {
    var element = job && job[2];
    var mathjax = window.MathJax;
    if (element && mathjax && typeof mathjax.typesetPromise === "function") {
      mathjax.typesetPromise([element]).catch(function () {});
    }
  }
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      try {
        Object.defineProperty(value, "Hub", {value: {Queue: queue}, configurable: true});
      } catch (error) { /* a frozen object: leave it alone */ }
    }
    return value;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();
"""


def _drop_duplicate_inline_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe registers its inline configuration twice, which redeclares a const
    and raises an error in the browser; keep the first copy of each inline script."""
    seen, kept = set(), []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body")
        if body is not None and body in seen:
            continue
        if body is not None:
            seen.add(body)
        kept.append(script)
    if "script_files" in context:
        context["script_files"][:] = kept


_VIEW = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', re.S)
_REFERENCE = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def _drop_widgets_not_shown(app, pagename, templatename, context, doctree):
    """Embed only the widgets a page shows, and the models they refer to.

    The executed notebook records every widget its kernel ever created, including those a
    cell built only to compute with; each live explorer carries its whole browser module,
    so a chapter that computes with a dozen explorers would weigh half a megabyte more."""
    shown = [json.loads(view)["model_id"] for view in _VIEW.findall(context.get("body", ""))]
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        if attributes.get("type") != "application/vnd.jupyter.widget-state+json":
            continue
        embedded = json.loads(attributes["body"])
        state = embedded.get("state", {})
        keep, todo = set(), [m for m in shown if m in state]
        while todo:
            model = todo.pop()
            if model not in keep:
                keep.add(model)
                todo.extend(m for m in _REFERENCE.findall(json.dumps(state[model])) if m in state)
        embedded["state"] = {key: value for key, value in state.items() if key in keep}
        attributes["body"] = json.dumps(embedded).replace("</script>", r"<\/script>")


def _copy_assets(app):
    root = Path(app.srcdir)
    modules = root / "node_modules"
    if not (modules / "requirejs").is_dir():
        raise ExtensionError(
            "node_modules is missing: run `npm ci` in the course folder (make book does it), "
            "so the book can serve require.js, the widget manager and MathJax itself."
        )
    vendor = Path(app.outdir) / "_static" / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    shutil.copy(modules / "requirejs" / "require.js", vendor / "require.js")
    manager = modules / "@jupyter-widgets" / "html-manager" / "dist"
    for asset in manager.iterdir():
        if asset.name == "embed-amd.js" or asset.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
            shutil.copy(asset, vendor / asset.name)
    shutil.copy(files("anywidget") / "nbextension" / "index.js", vendor / "anywidget.js")
    (vendor / "require-config.js").write_text(REQUIRE_CONFIG)
    (vendor / "mathjax-hub-shim.js").write_text(MATHJAX_HUB_SHIM)
    mathjax = vendor / "mathjax"
    if not (mathjax / "tex-chtml.js").exists():
        shutil.copytree(modules / "mathjax" / "es5", mathjax, dirs_exist_ok=True)


def _shrink_figures(app, exception):
    """Store each figure with a 256-colour palette when that changes no pixel by much.

    Matplotlib writes full-colour PNGs; the course's figures are line art on white, and a
    palette makes them three to four times smaller (the book's images: 4.8 MB to 1.4 MB) at a
    mean difference of about one level in 255. A figure where the palette would show (mean
    difference of 2 levels or more, e.g. a smooth colour map) is left as it is."""
    if exception is not None or app.builder.format != "html":
        return
    import numpy as np
    from PIL import Image

    for path in (Path(app.outdir) / "_images").glob("*.png"):
        with Image.open(path) as image:
            if image.mode == "P":
                continue  # already shrunk by an earlier build
            original = image.convert("RGBA")
        palette = original.quantize(256, method=Image.Quantize.FASTOCTREE)
        difference = np.abs(
            np.asarray(palette.convert("RGBA"), dtype=np.int16) - np.asarray(original, dtype=np.int16)
        )
        if difference.mean() >= 2:
            continue
        smaller = path.with_suffix(".shrunk")
        palette.save(smaller, format="png", optimize=True)
        if smaller.stat().st_size < path.stat().st_size:
            smaller.replace(path)
        else:
            smaller.unlink()


def setup(app):
    app.connect("builder-inited", _copy_assets)
    app.connect("html-page-context", _drop_duplicate_inline_scripts)
    app.connect("html-page-context", _drop_widgets_not_shown)
    app.connect("build-finished", _shrink_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
