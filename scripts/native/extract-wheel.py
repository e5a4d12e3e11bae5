"""Unpacks what the tfjs-node binding needs from the PyPI tensorflow wheel (standard library only).

    python extract-wheel.py TENSORFLOW_WHEEL OUT_DIR

OUT_DIR/lib      libtensorflow_cc.so.2 (exports the C and eager C API) and libtensorflow_framework.so.2
OUT_DIR/include  the C API headers and the ctstring headers they include
OUT_DIR/cuda-requirements.txt  the CUDA wheels the `and-cuda` extra names (for the -gpu twin)
"""
import os
import re
import shutil
import sys
import zipfile

LIBRARIES = ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2")
HEADER_DIRS = (
    "tensorflow/include/tensorflow/c/",
    "tensorflow/include/tensorflow/core/platform/ctstring",
    "tensorflow/include/tsl/platform/ctstring",
    "tensorflow/include/xla/tsl/c/",
)


def main(wheel_path: str, out_dir: str) -> None:
    with zipfile.ZipFile(wheel_path) as wheel:
        names = wheel.namelist()
        missing = [name for name in LIBRARIES if name not in names]
        if missing:
            sys.exit(f"extract-wheel: {wheel_path} lacks {', '.join(missing)}")
        for name in LIBRARIES:
            copy_member(wheel, name, os.path.join(out_dir, "lib", os.path.basename(name)))
        headers = [n for n in names if n.startswith(HEADER_DIRS) and n.endswith(".h")]
        for name in headers:
            copy_member(wheel, name, os.path.join(out_dir, "include", name[len("tensorflow/include/"):]))
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode()
    cuda = re.findall(r'^Requires-Dist: (nvidia-[^;\s]+)\s*;\s*extra == "and-cuda"', text, re.M)
    with open(os.path.join(out_dir, "cuda-requirements.txt"), "w") as out:
        out.write("".join(f"{requirement}\n" for requirement in cuda))
    print(f"extract-wheel: 2 libraries, {len(headers)} headers, {len(cuda)} CUDA requirements")


def copy_member(wheel: zipfile.ZipFile, name: str, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with wheel.open(name) as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
