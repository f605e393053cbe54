"""Run every benchmark module found in this package (`python -m bench`)."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def run_all() -> None:
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        main = getattr(module, "main", None)
        if callable(main):
            print(f"== bench.{info.name}")
            main()


if __name__ == "__main__":
    run_all()
