"""`make bench`: measure the course's speed targets and write _build/bench.json.

Each entry is {"name", "median", "unit", "target"}; the table printed at the end gives
the ratio of each median to its target (below 1 is within target). Timings are
measured here, never asserted in the tests.
"""

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "bench.json"


def median_of(fn, repeats):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def execute_notebook(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()


def bench_import():
    code = "import time; t = time.perf_counter(); import gdlab; print(time.perf_counter() - t)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(7)
    ]
    return {"name": "import gdlab", "median": statistics.median(samples), "unit": "s", "target": 0.5}


def built_book():
    html = ROOT / "_build" / "html"
    if not (html / "index.html").exists():
        subprocess.run(["make", "book"], cwd=ROOT, check=True)
    return html


# The flagship explorers that compute in the browser: (label, page, which explorer on it).
BROWSER_EXPLORERS = [
    ("02 1-D explorer", "chapters/02_gd_intuition.html", 0),
    ("03 learning-rate regimes", "chapters/03_learning_rate.html", 0),
    ("05 Loss Landscape Explorer", "chapters/05_landscapes.html", 0),
    ("07 optimizer race (4 racers)", "chapters/07_optimizers.html", 0),
]


def bench_browser(html):
    """Explorer latency (input event to redrawn path, 500 steps) measured inside chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    import http.server
    import threading

    from headless import CHROMIUM, FLAGS, Quiet
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return [
            {
                "name": "explorer redraw in the browser (chromium missing)",
                "median": None,
                "unit": "s",
                "target": 0.016,
            }
        ]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    entries = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for label, path, index in BROWSER_EXPLORERS:
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
            page.goto(f"{site}/{path}")
            page.wait_for_selector(".downhill-explorer svg polyline")
            explorer = page.locator(".downhill-explorer").nth(index)
            explorer.get_by_role("slider", name="Steps", exact=True).evaluate(
                "s => { s.value = 500; s.dispatchEvent(new Event('input', {bubbles: true})); }"
            )
            page.evaluate("globalThis.__downhillTimings = []")
            slider = explorer.get_by_role("slider", name="Learning rate α (log scale)")
            slider.focus()
            for i in range(60):  # arrow keys, as a reader would move the slider
                page.keyboard.press("ArrowLeft" if i < 30 else "ArrowRight")
            timings = page.evaluate("globalThis.__downhillTimings")
            entries.append(
                {
                    "name": f"{label} redraw in the browser (500 steps)",
                    "median": statistics.median(timings) / 1000,
                    "unit": "s",
                    "target": 0.016,
                }
            )
            page.close()
        browser.close()
    server.shutdown()
    return entries


# Chapters 01, 03, 04 and 08's explorers, which draw in the browser: (label, page, the
# explorer's aria-label, the slider moved). Each slider is moved 60 times from the keyboard.
STATIC_EXPLORERS = [
    ("01 loss shapes, δ", "chapters/01_loss_shapes.html", "Loss shapes explorer", "Huber δ"),
    (
        "01 outliers, shift (refits three lines)",
        "chapters/01_loss_shapes.html",
        "Outlier explorer",
        "Outlier shift (y units)",
    ),
    ("01 outliers, 1000 steps, count", "chapters/01_loss_shapes.html", "Outlier explorer", "Outliers"),
    (
        "03 schedules, learning rate",
        "chapters/03_learning_rate.html",
        "Learning-rate schedule explorer",
        "Learning rate α (log scale)",
    ),
    ("04 batch size, B (40 epochs)", "chapters/04_gd_variants.html", "Batch-size explorer", "Batch size B"),
    (
        "08 regularization, weight decay",
        "chapters/08_regularization.html",
        "Regularization explorer",
        "Weight decay λ",
    ),
    ("08 regularization, epoch", "chapters/08_regularization.html", "Regularization explorer", "Epoch"),
]


def bench_static_explorers(html):
    """Control change to redrawn figure, inside chromium, for chapters 01, 03, 04 and 08."""
    sys.path.insert(0, str(ROOT / "tests"))
    import http.server
    import threading

    from headless import CHROMIUM, FLAGS, Quiet
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return [{"name": "static explorers (chromium missing)", "median": None, "unit": "s", "target": 0.016}]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    entries = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for label, path, name, control in STATIC_EXPLORERS:
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
            page.goto(f"{site}/{path}")
            explorer = page.locator(f'.downhill-explorer[aria-label="{name}"]')
            explorer.locator(".downhill-readout").filter(has_text=" ").wait_for()
            heavy = {
                "Outlier explorer": ("Gradient-descent steps", 1000),
                "Batch-size explorer": ("Epochs", 40),
            }
            if name in heavy:  # the costliest setting of the other controls
                other, value = heavy[name]
                explorer.get_by_role("slider", name=other, exact=True).evaluate(
                    "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }", value
                )
            page.evaluate("globalThis.__downhillTimings = []")
            slider = explorer.get_by_role("slider", name=control, exact=True)
            slider.focus()
            for i in range(60):  # arrow keys, as a reader would move the slider
                page.keyboard.press("ArrowLeft" if i % 20 < 10 else "ArrowRight")
            timings = page.evaluate("globalThis.__downhillTimings")
            entries.append(
                {
                    "name": f"{label} redraw in the browser ({len(timings)} changes)",
                    "median": statistics.median(timings) / 1000,
                    "unit": "s",
                    "target": 0.016,
                }
            )
            page.close()
        browser.close()
    server.shutdown()
    return entries


def page_weights(html):
    """Each chapter page's HTML plus the images it shows, in kilobytes."""
    import re

    entries = []
    for page in sorted((html / "chapters").glob("*.html")):
        text = page.read_text()
        images = {m for m in re.findall(r'<img[^>]+src="([^"]+)"', text) if not m.startswith("data:")}
        size = len(text.encode()) + sum((page.parent / src).stat().st_size for src in images)
        entries.append(
            {
                "name": f"page weight {page.stem} (HTML + images)",
                "median": size / 1024,
                "unit": "KB",
                "target": None,
            }
        )
    return entries


def _widget(module_name, class_name, *args, **kwargs):
    import importlib

    return getattr(importlib.import_module(module_name), class_name)(*args, **kwargs)


# Explorers that redraw in Python (ipywidgets + Matplotlib): (label, how to build it, control).
# Each control is moved across its range 30 times; the median update must stay under 100 ms.
PYTHON_WIDGETS = [
    # (chapters 01, 03, 04 and 08 now draw in the browser: see bench_static_explorers)
]


# Set a control as a reader would and time, inside the page, the change to the redrawn figure
# (all synchronous: parse, check, descend, draw).
_TIME_CHANGE = """(control, value) => {
  const start = performance.now();
  control.value = value;
  control.dispatchEvent(new Event(control.tagName === "SELECT" ? "input" : "change", {bubbles: true}));
  return performance.now() - start;
}"""


# Control changes of the explorers that compute in the browser beyond the rate slider: a
# typed formula (parsed, checked, descended and drawn) and the lists that change the
# surface or the optimizer: (label, page, explorer kind, control label, values to alternate).
DESIGN_CONTROLS = [
    (
        "02 1-D explorer, typed formula",
        "chapters/02_gd_intuition.html",
        "curve",
        "Your formula f(x) =",
        ["x^4 - 8*x^2 + x", "x^4 - 7*x^2 + sin(3*x)"],
    ),
    (
        "05 Loss Landscape Explorer, typed formula",
        "chapters/05_landscapes.html",
        "surface",
        "Your formula f(x, y) =",
        ["(1 - x)^2 + 100*(y - x^2)^2", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"],
    ),
    (
        "05 Loss Landscape Explorer, surface list",
        "chapters/05_landscapes.html",
        "surface",
        "Surface",
        ["rosenbrock", "himmelblau"],
    ),
    (
        "05 Loss Landscape Explorer, optimizer list",
        "chapters/05_landscapes.html",
        "surface",
        "Optimizer",
        ["adam", "nesterov"],
    ),
    (
        "07 optimizer race, surface list",
        "chapters/07_optimizers.html",
        "race",
        "Surface",
        ["himmelblau", "rosenbrock"],
    ),
]


def bench_explorer_design(html, repeats=30):
    """Control change to redrawn figure in chromium for typed formulas and the explorers' lists."""
    sys.path.insert(0, str(ROOT / "tests"))
    import http.server
    import threading

    from headless import CHROMIUM, FLAGS, Quiet
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return [
            {
                "name": "explorer controls in the browser (chromium missing)",
                "median": None,
                "unit": "s",
                "target": 0.016,
            }
        ]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    entries = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for label, path, kind, control, values in DESIGN_CONTROLS:
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
            page.goto(f"{site}/{path}")
            page.wait_for_selector(f'.downhill-explorer[data-kind="{kind}"] svg polyline')
            explorer = page.locator(f'.downhill-explorer[data-kind="{kind}"]').first
            explorer.get_by_role("slider", name="Steps", exact=True).evaluate(
                "s => { s.value = 500; s.dispatchEvent(new Event('input', {bubbles: true})); }"
            )
            box = explorer.get_by_label(control, exact=True)
            timings = [box.evaluate(_TIME_CHANGE, values[i % len(values)]) for i in range(repeats)]
            entries.append(
                {
                    "name": f"{label}: change to redraw (500 steps)",
                    "median": statistics.median(timings) / 1000,
                    "unit": "s",
                    "target": 0.016,
                }
            )
            page.close()
        browser.close()
    server.shutdown()
    return entries


def bench_python_widgets():
    import numpy as np

    entries = []
    for label, build, control in PYTHON_WIDGETS:
        widget = build()
        slider = getattr(widget, control)
        options = getattr(slider, "options", None)
        if options:
            values = [options[i % len(options)] for i in range(30)]
            values = [v[1] if isinstance(v, tuple) else v for v in values]
        elif hasattr(slider, "base"):  # a log slider: min and max are exponents
            values = list(slider.base ** np.linspace(slider.min, slider.max, 30))
        else:
            values = np.linspace(slider.min, slider.max, 30)
            if isinstance(slider.value, int):
                values = np.round(values).astype(int)
            values = [type(slider.value)(v) for v in values]
        samples = []
        for value in values:
            start = time.perf_counter()
            slider.value = value
            samples.append(time.perf_counter() - start)
        entries.append(
            {
                "name": f"widget update: {label}",
                "median": statistics.median(samples),
                "unit": "s",
                "target": 0.1,
            }
        )
    return entries


CHAPTER_TARGETS = {
    "01_loss_shapes": 20.0,
    "02_gd_intuition": 10.0,
    "03_learning_rate": 20.0,
    "04_gd_variants": 20.0,
    "05_landscapes": 60.0,
    "06_loss_curves": 60.0,
    "07_optimizers": 60.0,
    "08_regularization": 60.0,
    "appendix_troubleshooting": 60.0,
}


def bench_chapters(repeats=3):
    entries = []
    for stem, target in CHAPTER_TARGETS.items():
        path = ROOT / "chapters" / f"{stem}.ipynb"
        if path.exists():
            seconds = median_of(lambda p=path: execute_notebook(p), repeats)
            entries.append(
                {"name": f"chapter {stem} executes", "median": seconds, "unit": "s", "target": target}
            )
    return entries


def bench_landscape_slice(repeats=3):
    """A 41 x 41 slice of chapter 05's network (6 hidden blocks of width 16, 200 two-moons
    points): batched, and one forward pass per grid point, so the ratio shows."""
    import torch

    from gdlab import loss_slices

    model, X, y = _chapter_05_network()
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
    directions = loss_slices.random_directions(model, seed=0)
    batched = median_of(
        lambda: loss_slices.loss_surface(model, loss_fn, X, y, directions, resolution=41), repeats
    )
    loop = median_of(
        lambda: loss_slices.loss_surface_loop(model, loss_fn, X, y, directions, resolution=41), repeats
    )
    return [
        {
            "name": "05 landscape slice 41x41, batched",
            "median": batched,
            "unit": "s",
            "target": 5.0,
        },
        {"name": "05 landscape slice 41x41, naive loop", "median": loop, "unit": "s", "target": None},
        {
            "name": "05 landscape slice: loop time / batched time",
            "median": loop / batched,
            "unit": "x",
            "target": None,
        },
    ]


def _chapter_05_network():
    """Chapter 05's plain network (6 hidden blocks of width 16) and its 200 two-moons points."""
    import torch
    from torch import nn

    from gdlab import data

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.linear = nn.Linear(width, width)

        def forward(self, h):
            return torch.relu(self.linear(h))

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), *(Block(16) for _ in range(6)), nn.Linear(16, 1))
    moons = data.moons(n=200, noise=0.2, seed=0)
    X = torch.tensor(moons.X, dtype=torch.float32)
    y = torch.tensor(moons.y, dtype=torch.float32).unsqueeze(1)
    return model, X, y


def bench_slice_race(repeats=5, resolution=41):
    """The 41 x 41 slice race: gdlab against loss-landscapes 3.0.6 (random_plane, filter
    normalisation) and the one-pass-per-point loop, on chapter 05's network; and against the
    arithmetic: the same layer products as plain torch.bmm, a forward pass written by hand
    for this one network (what an eager implementation without gdlab's generality could reach),
    and the FLOP rate this machine's BLAS reaches on one large matmul.

    Raced twice: with one thread for every racer (the arithmetic, without waits for a busy
    core), and with torch's default, the machine's cores, for every racer (what a user gets).
    The headline ratio sets the peer's better time of the two against gdlab's better one."""
    import torch

    threads = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(1)
            rows, ours, peer = _slice_race(repeats, resolution)
            if threads > 1:
                torch.set_num_threads(threads)
                ours_all, _, peer_all, _ = _slice_racers(repeats, resolution)
                rows += [
                    {
                        "name": f"race: slice 41x41 ({threads} threads), gdlab",
                        "median": ours_all,
                        "unit": "s",
                        "target": None,
                    },
                    {
                        "name": f"race: slice 41x41 ({threads} threads), loss-landscapes",
                        "median": peer_all,
                        "unit": "s",
                        "target": None,
                    },
                    {
                        "name": f"race: slice, loss-landscapes / gdlab, {threads} threads each",
                        "median": peer_all / ours_all,
                        "unit": "x",
                        "target": None,
                    },
                ]
                ours, peer = min(ours, ours_all), min(peer, peer_all)
    finally:
        torch.set_num_threads(threads)
    rows.append(
        {
            "name": "race: slice, each one's best time: loss-landscapes / gdlab (goal 10)",
            "median": peer / ours,
            "unit": "x",
            "target": None,
        }
    )
    return rows


def _slice_racers(repeats, resolution):
    """Median wall-clock and CPU seconds of gdlab's loss_surface and of loss-landscapes'
    random_plane on chapter 05's network, one after the other, with the threads torch has now:
    (ours, ours_cpu, peer, peer_cpu)."""
    import loss_landscapes
    import loss_landscapes.metrics
    import torch

    from gdlab import loss_slices

    model, X, y = _chapter_05_network()
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
    directions = loss_slices.random_directions(model, seed=0)
    metric = loss_landscapes.metrics.Loss(loss_fn, X, y)
    ours = medians_of(
        lambda: loss_slices.loss_surface(model, loss_fn, X, y, directions, resolution=resolution), repeats
    )
    peer = medians_of(
        lambda: loss_landscapes.random_plane(
            model, metric, distance=2.0, steps=resolution, normalization="filter", deepcopy_model=True
        ),
        repeats,
    )
    return (*ours, *peer)


def medians_of(fn, repeats):
    """Median wall-clock and median CPU seconds of ``repeats`` calls. With one thread the two
    agree on a quiet machine; on a busy one the CPU time leaves out the waits for a core."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _slice_floors(model, X, y, directions, alphas, chunk):
    """The arithmetic of a slice, timed two ways on chapter 05's network: only its layer
    products (torch.bmm, chunk by chunk into memory allocated once), and the whole forward
    pass and loss written out by hand for this network (first layer's three products, then
    baddbmm and an in-place ReLU per layer)."""
    import torch

    named = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    linears = [m for _, m in named]
    points, n = len(alphas) ** 2, len(X)
    inputs = [torch.randn(chunk, n, m.in_features) for m in linears]
    weights = [torch.randn(chunk, m.in_features, m.out_features) for m in linears]
    outs = [torch.empty(chunk, n, m.out_features) for m in linears]

    def layer_products():
        for _ in range(0, points, chunk):
            for h, w, out in zip(inputs, weights, outs):
                torch.bmm(h, w, out=out)

    grid = torch.as_tensor(alphas, dtype=torch.float32)
    a_all, b_all = grid.repeat(len(grid)), grid.repeat_interleave(len(grid))
    d1, d2 = ([d[f"{name}.weight"] for name, _ in named] for d in directions)
    assert all(not d[f"{name}.bias"].any() for d in directions for name, _ in named)  # biases stay
    thetas = [m.weight.detach() for m in linears]
    biases = [m.bias.detach() for m in linears]
    first = [X @ w.T for w in (thetas[0], d1[0], d2[0])]

    def by_hand():
        losses = []
        for start in range(0, points, chunk):
            a = a_all[start : start + chunk, None, None]
            b = b_all[start : start + chunk, None, None]
            h = torch.addcmul(first[0] + biases[0], a, first[1]).addcmul_(b, first[2]).relu_()
            for i in range(1, len(linears)):
                w = torch.addcmul(thetas[i], a, d1[i]).addcmul_(b, d2[i])
                h = torch.baddbmm(biases[i], h, w.transpose(1, 2))
                if i < len(linears) - 1:
                    h.relu_()
            target = y.expand(len(h), *y.shape)
            losses.append(
                torch.nn.functional.binary_cross_entropy_with_logits(h, target, reduction="none").mean(
                    dim=(1, 2)
                )
            )
        return torch.cat(losses)

    return layer_products, by_hand


def _matmul_rate(repeats, rows, inner, cols):
    """FLOP/s of one float32 product ``(rows, inner) x (inner, cols)`` with the threads torch
    has now, as the median of ``repeats`` (the statistic every racer is timed by)."""
    import torch

    a, b = torch.randn(rows, inner), torch.randn(inner, cols)
    out = torch.empty(rows, cols)
    torch.mm(a, b, out=out)  # warm-up
    wall, _ = medians_of(lambda: torch.mm(a, b, out=out), repeats)
    return 2 * rows * inner * cols / wall


def _matmul_peak(repeats, size=1024):
    """What this machine's BLAS reaches on a square product large enough to run at full speed:
    the yardstick for how far a slice is from what its arithmetic costs."""
    return _matmul_rate(repeats, size, size, size)


def _layer_shape_rate(repeats, rows, width=16):
    """One product ``(rows, width) x (width, width)``: a hidden layer of chapter 05's network
    with one weight shared by all of a chunk's rows, so nothing is batched or repacked per
    point. What this machine's BLAS reaches on the arithmetic of a layer of that shape at best
    (its inner dimension, 16, is too short for the rate of large squares)."""
    return _matmul_rate(repeats * 20, rows, width, width)


def _slice_race(repeats, resolution):
    import numpy as np
    import torch

    from gdlab import loss_slices

    model, X, y = _chapter_05_network()
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
    directions = loss_slices.random_directions(model, seed=0)
    points, n = resolution * resolution, len(X)
    params = {name: p.detach() for name, p in model.named_parameters()}
    chunk = loss_slices._default_chunk_size(params, X, resolution)  # loss_surface's, on 1 thread
    ours, ours_cpu, peer, peer_cpu = _slice_racers(repeats, resolution)
    loop, _ = medians_of(
        lambda: loss_slices.loss_surface_loop(model, loss_fn, X, y, directions, resolution=resolution), 1
    )
    alphas = np.linspace(-1, 1, resolution)
    layer_products, by_hand = _slice_floors(model, X, y, directions, alphas, chunk)
    ours_losses = loss_slices.loss_surface(model, loss_fn, X, y, directions, resolution=resolution).losses
    assert np.allclose(by_hand().numpy().reshape(resolution, resolution), ours_losses, rtol=1e-5)
    floor, floor_cpu = medians_of(layer_products, repeats)
    hand, hand_cpu = medians_of(by_hand, repeats)
    peak = _matmul_peak(repeats)
    shaped = _layer_shape_rate(repeats, chunk * n)
    # FLOPs. The minimum: every Linear layer's (n, fan_in) x (fan_in, fan_out) product, for
    # every point. The fast path takes the first layer's three products once per surface and
    # combines them per point (two multiply-adds per output element), then every other
    # layer's product per point; bias adds and activations are one operation per element.
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    minimal = sum(2 * points * n * m.in_features * m.out_features for m in linears)
    first = linears[0]
    fast_matmul = 2 * n * first.in_features * 3 * first.out_features + sum(
        2 * points * n * m.in_features * m.out_features for m in linears[1:]
    )
    fast_elementwise = points * n * (4 * first.out_features + sum(2 * m.out_features for m in linears))
    gflop = f"{minimal / 1e9:.2f} GFLOP minimal; the fast path {fast_matmul / 1e9:.2f} in matmuls"
    gflop += f" + {fast_elementwise / 1e9:.2f} elementwise"
    rows = [
        {"name": "race: slice 41x41 (1 thread), gdlab", "median": ours, "unit": "s", "target": None},
        {
            "name": "race: slice 41x41 (1 thread), loss-landscapes 3.0.6",
            "median": peer,
            "unit": "s",
            "target": None,
        },
        {"name": "race: slice 41x41, one pass per point", "median": loop, "unit": "s", "target": None},
        {
            "name": "race: slice, loss-landscapes / gdlab, 1 thread each",
            "median": peer / ours,
            "unit": "x",
            "target": None,
        },
        {
            "name": "race: slice, the same ratio in CPU time (waits left out)",
            "median": peer_cpu / ours_cpu,
            "unit": "x",
            "target": None,
        },
        {"name": "race: slice, loop time / gdlab time", "median": loop / ours, "unit": "x", "target": None},
        {"name": f"race: slice, FLOPs: {gflop}", "median": minimal / 1e9, "unit": "GFLOP", "target": None},
        {"name": "race: slice, the layer products alone (bmm)", "median": floor, "unit": "s", "target": None},
        {
            "name": "race: slice, gdlab time / layer products time (goal 3)",
            "median": ours / floor,
            "unit": "x",
            "target": 3.0,
        },
        {"name": "race: slice, this net's forward by hand", "median": hand, "unit": "s", "target": None},
        {
            "name": "race: slice, gdlab time / by-hand time",
            "median": ours / hand,
            "unit": "x",
            "target": None,
        },
        {
            "name": "race: slice, loss-landscapes / by-hand (the ceiling), CPU time",
            "median": peer_cpu / hand_cpu,
            "unit": "x",
            "target": None,
        },
        {
            "name": "race: slice, gdlab GFLOP/s (minimal FLOPs)",
            "median": minimal / ours / 1e9,
            "unit": "GFLOP/s",
            "target": None,
        },
        {
            "name": "race: slice, layer products GFLOP/s",
            "median": minimal / floor / 1e9,
            "unit": "GFLOP/s",
            "target": None,
        },
        {
            "name": "race: slice, this machine's matmul rate: 1024x1024 sgemm (1 thread)",
            "median": peak / 1e9,
            "unit": "GFLOP/s",
            "target": None,
        },
        {
            "name": "race: slice, that rate / gdlab's (how far off the arithmetic)",
            "median": peak / (minimal / ours),
            "unit": "x",
            "target": None,
        },
        {
            "name": "race: slice, the rate of one (chunk rows x 16)(16 x 16) product (1 thread)",
            "median": shaped / 1e9,
            "unit": "GFLOP/s",
            "target": None,
        },
        {
            "name": "race: slice, that rate / gdlab's (off the arithmetic at its shape; goal 3)",
            "median": shaped / (minimal / ours),
            "unit": "x",
            "target": 3.0,
        },
        {"name": "race: slice, CPU seconds: gdlab", "median": ours_cpu, "unit": "s", "target": None},
        {
            "name": "race: slice, CPU seconds: loss-landscapes",
            "median": peer_cpu,
            "unit": "s",
            "target": None,
        },
        {
            "name": "race: slice, CPU seconds: layer products",
            "median": floor_cpu,
            "unit": "s",
            "target": None,
        },
    ]
    return rows, ours, peer


def _mlp_regression(seed=0):
    """A small MLP regression: 4 inputs, two tanh layers of 32, 6400 rows (100 batches of 64)."""
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(6400, 4, generator=generator)
    w = torch.tensor([[1.0], [-0.5], [0.3], [0.8]])
    y = torch.sin(X @ w) + 0.1 * torch.randn(6400, 1, generator=generator)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    return model, X, y


def bench_slice_agreement(resolution=41):
    """Do gdlab and loss-landscapes give the same slice? loss-landscapes 3.0.6 draws its own
    random directions in random_plane, so both are given the same plane here: its
    planar_interpolation from the corner theta - d1 - d2 with steps of 2/(resolution - 1)
    along gdlab's directions d1 and d2, on chapter 05's network. Reported: the largest gap
    relative to the slice's highest loss, reading its array as the grid it returns, and with
    its even rows read one step further along d2 (its loop moves along d2 before the first
    point of every even row, as random_plane's does)."""
    import copy

    import loss_landscapes
    import loss_landscapes.metrics
    import numpy as np
    import torch

    from gdlab import loss_slices

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, X, y = _chapter_05_network()
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        d1, d2 = loss_slices.random_directions(model, seed=0)
        ours = loss_slices.loss_surface(model, loss_fn, X, y, (d1, d2), resolution=resolution).losses
        step = 2.0 / (resolution - 1)

        def moved(a, b):
            shifted = copy.deepcopy(model)
            with torch.no_grad():
                for name, p in shifted.named_parameters():
                    p.add_(a * d1[name] + b * d2[name])
            return shifted

        far = -1.0 + resolution * step  # planar_interpolation takes (end - start) / steps per step
        with torch.no_grad():
            theirs = loss_landscapes.planar_interpolation(
                moved(-1.0, -1.0),
                moved(far, -1.0),
                moved(-1.0, far),
                loss_landscapes.metrics.Loss(loss_fn, X, y),
                steps=resolution,
                deepcopy_model=True,
            )
    finally:
        torch.set_num_threads(threads)
    theirs = np.asarray(theirs, dtype=np.float64).T  # theirs[i, j]: i along d2, j along d1, as ours
    scale = ours.max()
    as_returned = np.abs(theirs - ours).max() / scale
    odd_rows = np.abs(theirs[:, 1::2] - ours[:, 1::2]).max() / scale
    even_rows_moved = np.abs(theirs[:-1, 0::2] - ours[1:, 0::2]).max() / scale
    return [
        {
            "name": "race: slice, same plane: |loss-landscapes - gdlab| / max, as returned",
            "median": as_returned,
            "unit": "",
            "target": None,
        },
        {
            "name": "race: slice, same plane, even rows one step on (its loop's offset)",
            "median": max(odd_rows, even_rows_moved),
            "unit": "",
            "target": None,
        },
    ]


def bench_lr_finder_race(repeats=5):
    """The range-test race, one run: gdlab.lr_finder against torch-lr-finder 0.2.2 on the MLP
    regression, mini-batches of 64, 100 steps from 1e-7 to 10, both smoothing with weight 0.95
    on the past (torch-lr-finder's smooth_f = 0.05), both stopping at 5x the best loss and
    searching the steepest point after the first 10 and before the last 5 steps."""
    import numpy as np
    import torch
    from torch_lr_finder import LRFinder

    from gdlab.lr_finder import lr_range_test

    model, X, y = _mlp_regression()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    sweep = dict(start_lr=1e-7, end_lr=10.0, num_steps=100)
    ours_result = {}

    def ours():
        ours_result["r"] = lr_range_test(
            model,
            torch.nn.functional.mse_loss,
            optimizer,
            (X, y),
            batch_size=64,
            seed=0,
            smoothing=0.95,
            stop_factor=5.0,
            skip_start=10,
            skip_end=5,
            **sweep,
        )

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True)
    peer_result = {}

    def peer():
        torch.manual_seed(0)
        finder = LRFinder(model, optimizer, torch.nn.MSELoss())
        finder.range_test(loader, start_lr=1e-7, end_lr=10.0, num_iter=100, smooth_f=0.05, diverge_th=5)
        lrs, losses = np.array(finder.history["lr"][10:-5]), np.array(finder.history["loss"][10:-5])
        peer_result["suggestion"] = float(lrs[np.gradient(losses).argmin()])  # its plot(suggest_lr=True)
        finder.reset()

    import contextlib
    import io

    ours_time = median_of(ours, repeats)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        peer_time = median_of(peer, repeats)
    ours_suggestion = ours_result["r"].suggestion
    return [
        {"name": "race: lr range test, gdlab", "median": ours_time, "unit": "s", "target": None},
        {
            "name": "race: lr range test, torch-lr-finder 0.2.2",
            "median": peer_time,
            "unit": "s",
            "target": None,
        },
        {
            "name": "race: lr range test, torch-lr-finder time / gdlab time",
            "median": peer_time / ours_time,
            "unit": "x",
            "target": None,
        },
        {
            "name": "race: lr range test, gdlab suggestion",
            "median": ours_suggestion,
            "unit": "lr",
            "target": None,
        },
        {
            "name": "race: lr range test, torch-lr-finder suggestion",
            "median": peer_result["suggestion"],
            "unit": "lr",
            "target": None,
        },
        {
            "name": "race: lr range test, suggestion ratio (larger / smaller)",
            "median": max(ours_suggestion, peer_result["suggestion"])
            / min(ours_suggestion, peer_result["suggestion"]),
            "unit": "x",
            "target": None,
        },
    ]


def bench_grading():
    """`make grade` on 50 submissions of one exercise (half solved, half blank), 2 workers."""
    sys.path.insert(0, str(ROOT / "exercises"))
    from bench_grading import bench_grading as run

    return [run(count=50)]


def bench_second_float_pass(workers=2):
    """The second pass of `make test` (tests/test_binder.py): every chapter and solution master
    in the `portable` floating-point environment, two at a time. Timed here in .venv (the test
    runs it in the Binder environment, whose build it overlaps with the rest of the suite)."""
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, str(ROOT / "tests"))
    from float_envs import execute

    notebooks = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda path: execute(path, "portable")[0], notebooks))
    seconds = time.perf_counter() - start
    failed = len(results) - sum(results)
    return [
        {
            "name": f"second float pass: {len(notebooks)} notebooks, portable, {workers} at a time"
            + (f" ({failed} FAILED)" if failed else ""),
            "median": seconds,
            "unit": "s",
            "target": None,
        }
    ]


def _edit_one_chapter(path):
    """What an author's small edit does to a chapter: a sentence more in its first markdown
    cell and a ``pass`` line at the top of its second code cell (the first is the bootstrap)."""
    notebook = nbformat.read(path, as_version=4)
    markdown = next(cell for cell in notebook.cells if cell.cell_type == "markdown")
    markdown.source += "\n\nA sentence added by the benchmark of the cached rebuild."
    code = [cell for cell in notebook.cells if cell.cell_type == "code"][1]
    code.source = "pass\n" + code.source
    nbformat.write(notebook, path)


def bench_cached_rebuild(chapter="02_gd_intuition", build=None):
    """`make book` for an author who edited one chapter: in a scratch copy of HEAD (git archive,
    its own _build and execution cache), the book is built once with every notebook executed,
    one chapter's markdown and one code cell are edited, and the book is built again. The
    rebuild's seconds (target 60) and the notebooks it executed (expected: 1, read from its
    log) are the result. This costs a whole book build first: minutes, not seconds."""
    import tempfile

    build = build or [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        ".",
        "--warningiserror",
        "--keep-going",
    ]
    scratch = Path(tempfile.mkdtemp(prefix="downhill-rebuild-"))
    try:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
        (scratch / "node_modules").symlink_to((ROOT / "node_modules").resolve())
        # The scratch copy's own gdlab, as make book's kernels use the checkout's.
        env = {
            **os.environ,
            "DOWNHILL_STRICT": "1",
            "GDLAB_QUIET": "1",
            "PYTHONPATH": str(scratch / "shared"),
        }

        def build_book(log_name):
            start = time.perf_counter()
            done = subprocess.run(build, cwd=scratch, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            log = done.stdout + done.stderr
            (scratch / "_build" / log_name).write_text(log)
            if done.returncode != 0:
                raise RuntimeError(f"the book build in {scratch} failed:\n{log[-4000:]}")
            return seconds, log.count("Executed notebook in")

        first, executed_first = build_book("first.log")
        _edit_one_chapter(scratch / "chapters" / f"{chapter}.ipynb")
        # Sphinx reads again only the changed page; the cache decides whether it executes.
        seconds, executed = build_book("rebuild.log")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [
        {
            "name": f"cached rebuild: first build ({executed_first} notebooks executed)",
            "median": first,
            "unit": "s",
            "target": None,
        },
        {
            "name": f"cached rebuild after editing {chapter}'s text and code",
            "median": seconds,
            "unit": "s",
            "target": 60,
        },
        {
            "name": "cached rebuild: notebooks executed again (expect 1)",
            "median": executed,
            "unit": "",
            "target": None,
        },
    ]


def recorded_make_times():
    timings_file = ROOT / "_build" / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    entries = []
    for name in ("book", "test"):
        if name in timings:
            kind = "clean " if timings[name]["clean"] else ""
            entries.append(
                {
                    "name": f"{kind}make {name} (last run, {timings[name]['when']})",
                    "median": timings[name]["seconds"],
                    "unit": "s",
                    "target": None,
                }
            )
        else:
            entries.append(
                {
                    "name": f"make {name} (not run yet: run it, then make bench)",
                    "median": None,
                    "unit": "s",
                    "target": None,
                }
            )
    return entries


def bench_training_explorer(html, presses=40):
    """Chapter 06's training explorer: recording its grid, redrawing in chromium, the page's weight.

    The grid is what the book build adds (27 runs of 600 epochs, one thread); the redraw is an
    arrow key on the "Training points" slider to the recorded run drawn, timed inside the page.
    """
    import torch

    from gdlab.widgets.dashboard import LiveTraining

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        grid_seconds = median_of(lambda: LiveTraining().record(), 1)
    finally:
        torch.set_num_threads(threads)
    page = html / "chapters" / "06_loss_curves.html"
    weight = next(
        e["median"] for e in page_weights(html) if e["name"].startswith(f"page weight {page.stem} ")
    )
    entries = [
        {
            "name": "06 training explorer: record the grid (27 runs)",
            "median": grid_seconds,
            "unit": "s",
            "target": 20,
        },
        {"name": "06 page weight with the recorded runs", "median": weight, "unit": "KB", "target": 1024},
    ]
    sys.path.insert(0, str(ROOT / "tests"))
    import http.server
    import threading

    from headless import CHROMIUM, FLAGS, Quiet
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        entries.append(
            {
                "name": "06 training explorer redraw (chromium missing)",
                "median": None,
                "unit": "s",
                "target": 0.016,
            }
        )
        return entries
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=html))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_page()
        tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site) else r.abort())
        tab.goto(f"{site}/chapters/{page.name}")
        explorer = tab.locator('.downhill-explorer[aria-label="Training explorer"]')
        explorer.locator("svg polyline").first.wait_for()
        tab.evaluate("globalThis.__downhillTimings = []")
        explorer.get_by_role("slider", name="Training points", exact=True).focus()
        for i in range(presses):  # each press redraws the recorded run nearest to the new setting
            tab.keyboard.press("ArrowLeft" if i < presses // 2 else "ArrowRight")
        timings = tab.evaluate("globalThis.__downhillTimings")
        browser.close()
    server.shutdown()
    entries.append(
        {
            "name": f"06 training explorer redraw in the browser ({len(timings)} control changes)",
            "median": statistics.median(timings) / 1000,
            "unit": "s",
            "target": 0.016,
        }
    )
    return entries


def main():
    html = built_book()
    entries = [
        bench_import(),
        *bench_browser(html),
        *bench_static_explorers(html),
        *bench_explorer_design(html),
        *bench_python_widgets(),
        *bench_landscape_slice(),
        *bench_slice_race(),
        *bench_slice_agreement(),
        *bench_lr_finder_race(),
        *bench_chapters(),
        *bench_grading(),
        *bench_second_float_pass(),
        *page_weights(html),
        *bench_training_explorer(html),
        *bench_cached_rebuild(),
        *recorded_make_times(),
    ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(entries, indent=2))
    print(f"{'measurement':<66} {'median':>10} {'target':>9} {'ratio':>7}")
    for e in entries:
        median = "-" if e["median"] is None else f"{e['median']:.4g} {e['unit']}"
        if e["unit"] == "KB" and e["median"] is not None:
            median = f"{e['median']:.0f} KB"
        target = "-" if e["target"] is None else f"{e['target']:g} {e['unit']}"
        ratio = "-" if e["target"] is None or e["median"] is None else f"{e['median'] / e['target']:.2f}"
        print(f"{e['name']:<66} {median:>10} {target:>9} {ratio:>7}")
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
