"""`python -m gpuctl` runs the gpuctl CLI."""

from gpuctl.cli import main

main()
