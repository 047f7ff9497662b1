"""_ext/offline_assets.py: the book's figures are stored smaller, never visibly changed."""

import sys
import types
from pathlib import Path

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
from offline_assets import _shrink_figures  # noqa: E402


def fake_app(outdir):
    return types.SimpleNamespace(outdir=str(outdir), builder=types.SimpleNamespace(format="html"))


def save(fig, path):
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.int16), path.stat().st_size


def test_line_art_gets_a_palette_and_shrinks_without_visible_change(tmp_path):
    images = tmp_path / "_images"
    images.mkdir()
    fig, ax = plt.subplots(figsize=(8, 6))
    x, y = np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41))
    ax.contour(x, y, (x**2 + y - 1.1) ** 2 + (x + y**2 - 0.7) ** 2, levels=30, cmap="viridis")
    ax.set(title="contours", xlabel="x", ylabel="y")
    before, size = save(fig, images / "contours.png")
    _shrink_figures(fake_app(tmp_path), None)
    with Image.open(images / "contours.png") as shrunk:
        assert shrunk.mode == "P"
        after = np.asarray(shrunk.convert("RGBA"), dtype=np.int16)
    assert (images / "contours.png").stat().st_size < size / 2
    assert np.abs(after - before).mean() < 2
    assert not list(images.glob("*.shrunk"))
    _shrink_figures(fake_app(tmp_path), None)  # a second build leaves it alone
    assert np.array_equal(
        np.asarray(Image.open(images / "contours.png").convert("RGBA"), dtype=np.int16), after
    )


def test_an_image_a_palette_would_spoil_is_left_as_it_is(tmp_path):
    images = tmp_path / "_images"
    images.mkdir()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(200, 300, 3), dtype=np.uint8)  # 60,000 colours
    Image.fromarray(noise).save(images / "noise.png")
    original = (images / "noise.png").read_bytes()
    _shrink_figures(fake_app(tmp_path), None)
    assert (images / "noise.png").read_bytes() == original
