"""PyTorch CPU side of the engine benchmark (bench/engine.ts runs it).

The tiny CLIP vision tower of TINY_VIT (32x32, patch 4 -> 65 tokens, width 192, depth 4,
3 heads, MLP 768, QuickGELU), randomly initialised with transformers, LoRA rank 4 on q and v
with peft. Serves step timings to bench/engine.ts (see main).
"""
import argparse
import json
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def build_model() -> torch.nn.Module:
    config = CLIPVisionConfig(
        image_size=32, patch_size=4, num_channels=3, hidden_size=192, num_hidden_layers=4,
        num_attention_heads=3, intermediate_size=768, projection_dim=192, hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    )
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(config).eval()
    lora = LoraConfig(r=4, lora_alpha=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    return get_peft_model(model, lora)


def step_fn(model: torch.nn.Module, mode: str, batch: int):
    """One step of `mode` at `batch`; returns a zero-argument callable."""
    pixels = torch.randn(batch, 3, 32, 32)
    cotangent = torch.randn(batch, 192)
    lora_params = [p for n, p in model.named_parameters() if "lora_" in n]
    for name, p in model.named_parameters():
        p.requires_grad_(mode == "fwdbwd_lora" and "lora_" in name)

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


def time_ms(fn, reps: int) -> list:
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    """Serves timing requests, one JSON line each way, so bench/engine.ts can interleave
    tfjs and PyTorch steps (a shared CPU's load then affects both alike).
    Request: {"mode", "batch", "reps", "warmup"}; reply: {"ms": [...]}, one per timed rep.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model()
    steps = {}
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "implementation": "transformers CLIPVisionModelWithProjection + peft LoRA (q_proj, v_proj, r=4)",
    }), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        key = (request["mode"], request["batch"])
        if key not in steps:
            steps[key] = step_fn(model, *key)
            time_ms(steps[key], 3)  # first calls pay one-off set-up costs
        time_ms(steps[key], request.get("warmup", 0))
        print(json.dumps({"ms": time_ms(steps[key], request["reps"])}), flush=True)


if __name__ == "__main__":
    main()
