"""Reference outputs of a small random CLIP vision tower (HF transformers) with PEFT LoRAs.

Run with the repository's venv:
    HF_HUB_OFFLINE=1 .venv/bin/python test/reference/make_reference.py OUT_DIR [EXPORT_DIR]
(test/reference/reference-data.ts does so into a fresh temporary OUT_DIR). No network access: every
model is built from a config and randomly initialised (seeded). EXPORT_DIR, if given, holds what the
TypeScript writers saved: model/ (saveHfClipVision) and lora/ (savePeftAdapter), run here by
transformers + PEFT into "embeds.export".

OUT_DIR/
  model/model.safetensors, model/config.json     CLIPVisionModelWithProjection.save_pretrained
  clip_vision_model/...   the same tower saved as CLIPVisionModel (no projection, keys without "vision_model.")
  clip_model/...          the same tower and projection inside a CLIPModel (with a tiny text tower)
  lora_qv/adapter_model.safetensors + adapter_config.json     PEFT LoRA r=4, alpha=8 on q_proj, v_proj
  lora_all/...    PEFT LoRA r=2, alpha=3, rsLoRA, on q,k,v,out_proj,fc1,fc2 (naming of every site)
  lora_qv_vision_model/...   PEFT LoRA r=4, alpha=8 on q_proj, v_proj of the CLIPVisionModel
  reference.safetensors   inputs, outputs and gradients (float32; computed in float64):
    pixels01            [B, H, W, C] in [0, 1]
    pixel_values        [B, H, W, C] CLIP-normalised (NHWC, the TypeScript layout)
    loss_weights        [B, P]  fixed; loss L = sum(image_embeds * loss_weights)
    embeds.base         [B, P]  image_embeds without adapter
    pooled.clip_vision_model   [B, D]  CLIPVisionModel's pooler_output (post-LayerNorm [CLS])
    embeds.clip_model   [B, P]  CLIPModel's visual_projection(pooler_output)
    pooled.lora_qv_vision_model [B, D]  CLIPVisionModel's pooler_output with lora_qv_vision_model
    embeds.export       [B, P]  image_embeds of EXPORT_DIR's model with its adapter (only with EXPORT_DIR)
    attentions.base.{l} [B, heads, T, T]  per-layer attention softmax without adapter
    embeds.lora_qv, embeds.lora_all        [B, P]  with each adapter
    grad_pixels.lora_qv [B, H, W, C]  dL/d pixel_values with the q,v LoRA
    grad.lora_qv.<PEFT key>   dL/d lora_{A,B} in PEFT layout (A [r, in], B [out, r])
    sparse_positions    [B, n]  patch indices (row-major, stored as float) fed as sparse tokens
    embeds.sparse.base  [B, P]  image_embeds from [CLS] + those tokens only (original positions)
    embeds.pruned.lora_qv, kept.pruned.lora_qv [B, n_final], grad_pixels.pruned.lora_qv
                        token pruning PRUNING (method.md §1.4) with the q,v LoRA; metadata
                        "pruning_margin" = smallest score gap at a cut (ties would make the choice ambiguous)
"""
import json
import math
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
BATCH = 3
SPARSE_TOKENS = 24
PRUNING = {0: 0.5, 1: 0.25}  # {layer: ratio}: after layer 0 keep 32 of 64 patches, after layer 1 keep 24

CONFIG = dict(
    image_size=32, patch_size=4, num_channels=3, hidden_size=64, num_hidden_layers=2,
    num_attention_heads=2, intermediate_size=128, projection_dim=32, hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
)
TEXT_CONFIG = dict(  # a CLIPModel needs a text tower; the loader must ignore it
    vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
    max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1,
)


def randomise(model: torch.nn.Module, generator: torch.Generator) -> None:
    """HF's init is nearly trivial (std 0.02); use O(1) activations so the comparison means something."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=generator))
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(fan_in))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))


def make_lora(base, config: LoraConfig, generator: torch.Generator):
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:  # non-zero B so the adapter changes the output
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[1]))
    return model


def manual_forward(tower, pixel_values, positions=None, pruning=None):
    """The tower's forward rebuilt from its HF modules, with sparse tokens and token pruning.

    tower: CLIPVisionModelWithProjection (possibly with PEFT layers injected). Returns
    (image_embeds [B, P], surviving patch indices [B, n], smallest score gap at a pruning cut).
    """
    vision = tower.vision_model
    tokens = vision.embeddings(pixel_values)  # [B, 1 + T, D], positional embeddings added
    batch, count = tokens.shape[0], tokens.shape[1] - 1
    if positions is None:
        positions = torch.arange(count).expand(batch, count)
    take = lambda x, idx: torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    tokens = torch.cat([tokens[:, :1], take(tokens[:, 1:], positions)], dim=1)
    hidden = vision.pre_layrnorm(tokens)
    margin = math.inf
    for layer_index, layer in enumerate(vision.encoder.layers):
        attended, weights = layer.self_attn(hidden_states=layer.layer_norm1(hidden))
        hidden = hidden + attended
        ratio = (pruning or {}).get(layer_index, 0)
        if ratio > 0:
            scores = weights[:, :, 0, 1:].mean(dim=1)  # [B, n]: mean over heads of the [CLS] row
            n = scores.shape[1]
            keep = n - math.floor(ratio * n)
            ranked = scores.sort(dim=1, descending=True)
            margin = min(margin, float((ranked.values[:, keep - 1] - ranked.values[:, keep]).min().detach()))
            slots = ranked.indices[:, :keep].sort(dim=1).values  # survivors in raster order
            hidden = torch.cat([hidden[:, :1], take(hidden[:, 1:], slots)], dim=1)
            positions = torch.gather(positions, 1, slots)
        hidden = hidden + layer.mlp(layer.layer_norm2(hidden))  # pre-LN residual, also when pruning
    pooled = vision.post_layernorm(hidden[:, 0])
    return tower.visual_projection(pooled), positions, margin


def nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def f32(tensors: dict) -> dict:
    return {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}


def save_other_architectures(model, out_dir: str) -> None:
    """The same vision weights as a CLIPVisionModel and inside a CLIPModel, as users' checkpoints come."""
    vision_only = CLIPVisionModel(model.config).eval()
    vision_only.load_state_dict(model.vision_model.state_dict())  # transformers 5: no vision_model. level
    vision_only.save_pretrained(os.path.join(out_dir, "clip_vision_model"))
    clip = CLIPModel(CLIPConfig(
        text_config=TEXT_CONFIG, vision_config=CONFIG, projection_dim=CONFIG["projection_dim"],
    )).eval()
    clip.vision_model.load_state_dict(model.vision_model.state_dict())
    clip.visual_projection.load_state_dict(model.visual_projection.state_dict())
    clip.save_pretrained(os.path.join(out_dir, "clip_model"))


def run_export(export_dir: str, x64: torch.Tensor) -> torch.Tensor:
    """image_embeds of the checkpoint and PEFT adapter the TypeScript writers saved."""
    tower, info = CLIPVisionModelWithProjection.from_pretrained(
        os.path.join(export_dir, "model"), output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"the exported checkpoint does not load cleanly: {problems}"
    model = PeftModel.from_pretrained(tower.eval(), os.path.join(export_dir, "lora")).eval().double()
    with torch.no_grad():
        return model(pixel_values=x64).image_embeds


def main(out_dir: str, export_dir: str | None) -> None:
    os.makedirs(out_dir, exist_ok=True)
    if os.listdir(out_dir):
        sys.exit(f"make_reference.py: {out_dir} is not empty")
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1234)

    config = CLIPVisionConfig(**CONFIG)
    config._attn_implementation = "eager"  # attention weights are returned only by the eager path
    model = CLIPVisionModelWithProjection(config).eval()
    randomise(model, generator)
    model.save_pretrained(os.path.join(out_dir, "model"))
    save_other_architectures(model, out_dir)

    out = {}
    metadata = {"config": json.dumps(CONFIG), "pruning": json.dumps(PRUNING)}
    pixels01 = torch.rand((BATCH, 3, 32, 32), generator=generator)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    pixel_values = ((pixels01 - mean) / std).to(torch.float32)  # the float32 input both sides use
    loss_weights = torch.randn((BATCH, CONFIG["projection_dim"]), generator=generator)
    out["pixels01"] = nhwc(pixels01)
    out["pixel_values"] = nhwc(pixel_values)
    out["loss_weights"] = loss_weights

    # Everything below in float64: the reference error is then negligible next to float32 in TS.
    x64 = pixel_values.double()
    model64 = model.double()
    with torch.no_grad():
        base = model64(pixel_values=x64, output_attentions=True)
    out["embeds.base"] = base.image_embeds
    with torch.no_grad():  # reloaded from disk, so the files are what is compared
        vision_only = CLIPVisionModel.from_pretrained(os.path.join(out_dir, "clip_vision_model")).eval().double()
        out["pooled.clip_vision_model"] = vision_only(pixel_values=x64).pooler_output
        clip = CLIPModel.from_pretrained(os.path.join(out_dir, "clip_model")).eval().double()
        out["embeds.clip_model"] = clip.visual_projection(clip.vision_model(pixel_values=x64).pooler_output)
    with torch.no_grad():
        rebuilt, _, _ = manual_forward(model64, x64)
        assert torch.allclose(rebuilt, base.image_embeds, atol=1e-12), "manual_forward disagrees with HF"
        positions = torch.stack([
            torch.randperm(64, generator=generator)[:SPARSE_TOKENS].sort().values for _ in range(BATCH)
        ])
        out["sparse_positions"] = positions.double()
        out["embeds.sparse.base"], _, _ = manual_forward(model64, x64, positions=positions)
    for layer, attention in enumerate(base.attentions):
        out[f"attentions.base.{layer}"] = attention

    adapters = {
        "lora_qv": LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
        "lora_all": LoraConfig(
            r=2, lora_alpha=3, use_rslora=True,
            target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
        ),
    }
    for name, lora_config in adapters.items():
        fresh = CLIPVisionModelWithProjection.from_pretrained(
            os.path.join(out_dir, "model"), attn_implementation="eager").eval()
        peft_model = make_lora(fresh, lora_config, generator)
        peft_model.save_pretrained(os.path.join(out_dir, name))  # float32 adapter, as users have them
        peft_model = peft_model.double()
        pixels = x64.clone().requires_grad_(True)
        embeds = peft_model(pixel_values=pixels).image_embeds
        out[f"embeds.{name}"] = embeds
        if name != "lora_qv":
            continue
        loss = (embeds * loss_weights.double()).sum()
        loss.backward()
        out[f"grad_pixels.{name}"] = nhwc(pixels.grad)
        for key, p in peft_model.named_parameters():
            if "lora_" in key:  # PEFT's saved key drops the adapter name ("default")
                saved_key = key.replace(".default", "")
                out[f"grad.{name}.{saved_key}"] = p.grad.clone()  # the next backward accumulates into p.grad
        peft_model.zero_grad()
        pixels = x64.clone().requires_grad_(True)
        pruned, kept, margin = manual_forward(peft_model.base_model.model, pixels, pruning=PRUNING)
        (pruned * loss_weights.double()).sum().backward()
        out[f"embeds.pruned.{name}"] = pruned
        out[f"kept.pruned.{name}"] = kept.double()
        out[f"grad_pixels.pruned.{name}"] = nhwc(pixels.grad)
        metadata["pruning_margin"] = repr(margin)

    # PEFT on a CLIPVisionModel: transformers 5 names its factors without "vision_model.".
    plain = CLIPVisionModel.from_pretrained(os.path.join(out_dir, "clip_vision_model")).eval()
    plain_lora = make_lora(plain, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]), generator)
    plain_lora.save_pretrained(os.path.join(out_dir, "lora_qv_vision_model"))
    with torch.no_grad():
        out["pooled.lora_qv_vision_model"] = plain_lora.double()(pixel_values=x64).pooler_output

    if export_dir:
        out["embeds.export"] = run_export(export_dir, x64)

    save_file(f32(out), os.path.join(out_dir, "reference.safetensors"), metadata=metadata)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_reference.py OUT_DIR [EXPORT_DIR]")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
