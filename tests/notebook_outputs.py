"""Notebooks are stored without outputs: list the ones that have any, and with --strip clear them.

    python tests/notebook_outputs.py [--strip] NOTEBOOK...

Exits 1 when a notebook had outputs or execution counts (after clearing them with --strip, so
that a pre-commit hook stops the commit and the cleared file can be added again), 0 otherwise.
Cell ids and metadata are kept; a notebook without outputs is not rewritten.
"""

import sys

import nbformat


def has_outputs(notebook):
    return any(
        cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
        for cell in notebook.cells
    )


def main(argv):
    strip = "--strip" in argv
    paths = [arg for arg in argv if arg != "--strip"]
    found = []
    for path in paths:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if not has_outputs(notebook):
            continue
        found.append(path)
        if strip:
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
                    cell.execution_count = None
            nbformat.write(notebook, path)
    for path in found:
        print(f"{path}: outputs {'cleared' if strip else 'present'}; notebooks are stored without them")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
