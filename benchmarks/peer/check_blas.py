"""Says which BLAS PyTorch's GEMM really runs on, and refuses a flattering peer.

Usage: python3 check_blas.py            prints one line: the BLAS library file, or exits 1

Debian's python3-torch links the generic libblas.so.3, which the alternatives system points at
OpenBLAS only when libopenblas0-pthread (or -openmp/-serial) is installed; otherwise the reference
BLAS answers, about 40x slower on GEMM, and every ratio against PyTorch flatters us. This runs one
GEMM and reads the process's own memory map to see which library served it.
"""
import sys

import torch

a = torch.randn(256, 256)
(a @ a).sum().item()
with open("/proc/self/maps") as f:
    libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
openblas = [p for p in libs if "openblas" in p.lower()]
if not openblas:
    print("PyTorch's GEMM does not run on OpenBLAS here (loaded: " + (", ".join(libs) or "no BLAS library")
          + "); install libopenblas0-pthread and make it the libblas.so.3 alternative", file=sys.stderr)
    sys.exit(1)
print(openblas[0])
