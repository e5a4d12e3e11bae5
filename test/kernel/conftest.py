import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import kernelspecs  # noqa: E402,F401  (installs the kernelspecs before any test starts a kernel)
