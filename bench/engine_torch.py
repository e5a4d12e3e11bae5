"""PyTorch CPU side of the engine benchmark (bench/engine-backend.ts runs it).

A CLIP vision tower randomly initialised with transformers, LoRA rank 4 on q and v with peft:
`--model tiny` is TINY_VIT (32x32, patch 4 -> 65 tokens, width 192, depth 4, 3 heads, MLP 768),
`--model vit-b16` is CLIP ViT-B/16 (224x224, patch 16 -> 197 tokens, width 768, depth 12, 12 heads,
MLP 3072). Serves step timings, a chain of small ops and a large product (see main).
"""
import argparse
import json
import resource
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

CONFIGS = {
    "tiny": dict(image_size=32, patch_size=4, hidden_size=192, num_hidden_layers=4, num_attention_heads=3,
                 intermediate_size=768, projection_dim=192),
    "vit-b16": dict(image_size=224, patch_size=16, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                    intermediate_size=3072, projection_dim=512),
}


def build_model(name: str) -> torch.nn.Module:
    config = CLIPVisionConfig(num_channels=3, hidden_act="quick_gelu", layer_norm_eps=1e-5, **CONFIGS[name])
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(config).eval()
    lora = LoraConfig(r=4, lora_alpha=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    return get_peft_model(model, lora)


def step_fn(model: torch.nn.Module, name: str, mode: str, batch: int):
    """One step of `mode` at `batch`; returns a zero-argument callable."""
    if mode == "small_ops":
        return lambda: small_ops(batch)
    if mode == "matmul":
        a, b = torch.randn(batch, batch), torch.randn(batch, batch)
        return lambda: a @ b
    size = CONFIGS[name]["image_size"]
    pixels = torch.randn(batch, 3, size, size)
    cotangent = torch.randn(batch, CONFIGS[name]["projection_dim"])
    lora_params = [p for n, p in model.named_parameters() if "lora_" in n]
    for param_name, p in model.named_parameters():
        p.requires_grad_(mode == "fwdbwd_lora" and "lora_" in param_name)

    def forward():
        with torch.inference_mode():
            return model(pixel_values=pixels).image_embeds

    def fwdbwd_lora():
        for p in lora_params:
            p.grad = None
        loss = (model(pixel_values=pixels).image_embeds * cotangent).sum()
        loss.backward()

    def fwdbwd_pixels():
        x = pixels.clone().requires_grad_(True)
        loss = (model(pixel_values=x).image_embeds * cotangent).sum()
        (grad,) = torch.autograd.grad(loss, [x])
        return grad

    return {"forward": forward, "fwdbwd_lora": fwdbwd_lora, "fwdbwd_pixels": fwdbwd_pixels}[mode]


def small_ops(count: int) -> float:
    """`count` dependent additions on a 16-vector: per-op overhead, not arithmetic."""
    x = torch.ones(16)
    for _ in range(count):
        x = x + 1
    return float(x[0])


def time_ms(fn, reps: int) -> list:
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    """Serves timing requests, one JSON line each way, so the tfjs side can interleave its steps
    with PyTorch's (a shared CPU's load then affects both alike).
    Request: {"mode", "batch", "reps", "warmup"} (for small_ops "batch" is the op count, for matmul
    the matrix size); reply: {"ms": [...]}, one per timed rep. {"mode": "rss"} replies the peak RSS.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--model", choices=sorted(CONFIGS), default="tiny")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model(args.model)
    steps = {}
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "implementation": "transformers CLIPVisionModelWithProjection + peft LoRA (q_proj, v_proj, r=4)",
    }), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["mode"] == "rss":
            print(json.dumps({"peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            continue
        key = (request["mode"], request["batch"])
        if key not in steps:
            steps[key] = step_fn(model, args.model, *key)
            time_ms(steps[key], 1)  # first calls pay one-off set-up costs
        time_ms(steps[key], request.get("warmup", 0))
        print(json.dumps({"ms": time_ms(steps[key], request["reps"])}), flush=True)


if __name__ == "__main__":
    main()
