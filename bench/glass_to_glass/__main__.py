"""``.venv/bin/python bench/glass_to_glass``: run the benchmark (see the package docstring).

Run as a folder, this file is not part of its package: it puts bench/ on ``sys.path``
in place of the folder itself (for the package and its ``_netns`` sibling; the package's
modules must not pass for top-level ones) and the repository root (for the browser tests'
Chromium flags), then imports the package by name.
"""

from __future__ import annotations

import sys
from pathlib import Path


def run_from_folder(argv: list[str]) -> int:
    """Make the package importable by name, then run its command line."""
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0]).resolve() == here:
        del sys.path[0]
    sys.path[:0] = [str(here.parent), str(here.parents[1])]
    from glass_to_glass.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(run_from_folder(sys.argv[1:]))
