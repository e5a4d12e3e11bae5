"""Installs the kernels under test into a throw-away Jupyter prefix and points JUPYTER_PATH at it.

Import this module before jupyter_client looks up kernelspecs. Both kernels are installed:
  lora-recycle-ts  -- this project's kernel (kernel/dist, built with `npm run build:kernel`)
  tslab            -- stock tslab 1.0.22, installed by its own installer (for comparison)
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = "lora-recycle-ts"
STOCK = "tslab"


def _install() -> Path:
    prefix = Path(tempfile.mkdtemp(prefix="kernelspecs-"))
    atexit.register(shutil.rmtree, prefix, ignore_errors=True)
    main_js = ROOT / "kernel" / "dist" / "main.js"
    if not main_js.exists():
        raise RuntimeError(f"expected the built kernel at {main_js}; run `npm run build:kernel`")
    subprocess.run(["node", str(main_js), "install", "--prefix", str(prefix)], check=True, capture_output=True)
    subprocess.run(
        [
            "node", str(ROOT / "node_modules" / "tslab" / "bin" / "tslab"), "install",
            f"--python={sys.executable}", f"--binary={ROOT / 'node_modules' / '.bin' / 'tslab'}",
            f"--prefix={prefix}",
        ],
        check=True, capture_output=True,
    )
    return prefix / "share" / "jupyter"


DATA_DIR = _install()
os.environ["JUPYTER_PATH"] = os.pathsep.join([str(DATA_DIR), os.environ.get("JUPYTER_PATH", "")]).rstrip(os.pathsep)
