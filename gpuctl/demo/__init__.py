"""`gpuctl demo`: a guided tour of gpuctl on the embedded sandbox cluster. A fresh Git
repository of the example desired state, a daemon applying it, a MIG layout change rolled
out node by node while GPU jobs run, drift corrected, a pre-merge simulation and the
verified audit log. `run_demo(options, narrator)` returns the command's exit code."""

from gpuctl.demo.narration import Narrator
from gpuctl.demo.run import run_demo
from gpuctl.demo.tour import DemoOptions

__all__ = ["DemoOptions", "Narrator", "run_demo"]
