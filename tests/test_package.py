"""The package surface: every public module is an attribute of ``gdlab``, and the bare
import stays light: no torch, Matplotlib or ipywidgets."""

import json
import subprocess
import sys

import gdlab

HEAVY = ("torch", "matplotlib", "ipywidgets")


def test_every_public_module_is_an_attribute():
    modules = [name for name in gdlab.__all__ if name not in {"Trajectory", "descend"}]
    for name in modules:
        module = getattr(gdlab, name)
        assert module.__name__ == f"gdlab.{name}"
    assert set(modules) <= set(dir(gdlab))


def test_unknown_attribute_raises():
    try:
        gdlab.no_such_module  # noqa: B018
    except AttributeError as error:
        assert "no_such_module" in str(error)
    else:
        raise AssertionError("gdlab.no_such_module should raise AttributeError")


def test_bare_import_is_light():
    code = f"import sys, json, gdlab; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert loaded == []
