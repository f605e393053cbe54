"""`python -m reconciler` runs the gpuctl CLI."""

from reconciler.cli import main

main()
