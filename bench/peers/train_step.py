"""Peer for bench/train-step: one COBOT AdaptFormer training step in PyTorch CPU, with the official
segment-anything modules (ImageEncoderViT, PromptEncoder, MaskDecoder, TwoWayTransformer, built as
segment_anything/build_sam.py builds them) and a COBOT module written for the benchmark from
cobot-method.md §2b, §3, §4 and §10.5.

    train_step.py <job.json>

The job names the SAM config (our camelCase SamConfig), the weight and batch files the Node side
generated (bench/train-step/setup.ts: official names, the adapters under our names, which are the
official COBOT ones with the wrapped MLP keeping SAM's names), warm-up and timed step counts, the
thread count and the two Adam learning rates. One step is what our worker times: zero_grad, the
encoder on both images, per image the prompt encoder on its boxes and the mask decoder (single
mask; official Sam.forward runs under no_grad, so its loop is written out here), BCE + squared Dice
on the low-res logits, backward, Adam step, loss.item().

Prints one JSON line prefixed "RESULT_JSON ": times, the loss of every step, memory measured as
bench/peers/sam_encoder.py does (whose readers and memory helpers this reuses).
"""
import json
import sys
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from sam_encoder import official_encoder_class, read_safetensors, reset_peak, status_kib

BOTTLENECK = 16


def quaternion_units() -> torch.Tensor:
    """E_r, E_i, E_j, E_k of cobot-method.md §4, (4, 4, 4): Q = Σ_c kron(E_c, W_c)."""
    e = torch.zeros(4, 4, 4)
    e[0] = torch.eye(4)
    for c, entries in enumerate(
        [
            [(0, 1, 1), (1, 0, -1), (2, 3, 1), (3, 2, -1)],
            [(0, 2, 1), (1, 3, -1), (2, 0, -1), (3, 1, 1)],
            [(0, 3, 1), (1, 2, 1), (2, 1, -1), (3, 0, -1)],
        ],
        start=1,
    ):
        for row, col, sign in entries:
            e[c, row, col] = sign
    return e


class QuaternionHead(nn.Module):
    """y = s·Q, Q (V, V) built from r, i, j, k ((V/4, V/4) each, in × out layout)."""

    def __init__(self, width: int):
        super().__init__()
        n = width // 4
        self.r_weight = nn.Parameter(torch.zeros(n, n))
        self.i_weight = nn.Parameter(torch.zeros(n, n))
        self.j_weight = nn.Parameter(torch.zeros(n, n))
        self.k_weight = nn.Parameter(torch.zeros(n, n))
        self.register_buffer("units", quaternion_units(), persistent=False)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        parts = (self.r_weight, self.i_weight, self.j_weight, self.k_weight)
        q = sum(torch.kron(self.units[c], w) for c, w in enumerate(parts))
        return s @ q


class CobotAdaptFormer(nn.Module):
    """Wraps block ℓ's MLP: returns MLP(z) + up(ReLU(Q_ℓ(down(LN_a(z)) ⊙ κ_ℓ))), κ_ℓ = (C·P)[:, ℓ] + γ_ℓ,
    so the block computes x + MLP(z) + adapter(z). C (1, V, T) and P (T, T) are shared by all blocks."""

    def __init__(self, mlp: nn.Module, dim: int, index: int, c: nn.Parameter, p: nn.Parameter):
        super().__init__()
        self.FacT_c = c
        self.FacT_p = p
        self.gamma = nn.Parameter(torch.ones(BOTTLENECK))
        self.mlp = mlp
        self.FacT_d1 = QuaternionHead(BOTTLENECK)
        self.adapter_layer_norm_before = nn.LayerNorm(dim, eps=1e-5)
        self.down_proj = nn.Linear(dim, BOTTLENECK)
        self.up_proj = nn.Linear(BOTTLENECK, dim)
        self.index = index

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        kappa = (self.FacT_c @ self.FacT_p)[0, :, self.index] + self.gamma
        a = self.down_proj(self.adapter_layer_norm_before(z))
        adapter = self.up_proj(torch.relu(self.FacT_d1(a * kappa)))
        return self.mlp(z) + adapter


def build_model(config: dict, files: dict) -> nn.Module:
    Encoder = official_encoder_class()  # also enters the segment_anything package without its predictor
    from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    grid = config["imgSize"] // config["patchSize"]
    c = config["promptEmbedDim"]
    sam = Sam(
        image_encoder=Encoder(
            depth=config["depth"],
            embed_dim=config["embedDim"],
            img_size=config["imgSize"],
            mlp_ratio=config["mlpRatio"],
            norm_layer=partial(nn.LayerNorm, eps=config["encoderLayerNormEps"]),
            num_heads=config["numHeads"],
            patch_size=config["patchSize"],
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=tuple(config["globalAttnIndexes"]),
            window_size=config["windowSize"],
            out_chans=config["outChans"],
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=c, image_embedding_size=(grid, grid), input_image_size=(config["imgSize"], config["imgSize"]), mask_in_chans=config["maskInChans"]
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=config["numMultimaskOutputs"],
            transformer=TwoWayTransformer(depth=config["decoderDepth"], embedding_dim=c, mlp_dim=config["decoderMlpDim"], num_heads=config["decoderNumHeads"]),
            transformer_dim=c,
            iou_head_depth=config["iouHeadDepth"],
            iou_head_hidden_dim=config["iouHeadHiddenDim"],
        ),
        pixel_mean=config["pixelMean"],
        pixel_std=config["pixelStd"],
    )
    encoder_state = {k[len("image_encoder."):]: v for k, v in read_safetensors(files["encoder"]).items()}
    sam.image_encoder.load_state_dict(encoder_state, strict=True)

    blocks = sam.image_encoder.blocks
    shared_c = nn.Parameter(torch.ones(1, BOTTLENECK, len(blocks)))
    shared_p = nn.Parameter(torch.eye(len(blocks)))
    for index, block in enumerate(blocks):
        block.mlp = CobotAdaptFormer(block.mlp, config["embedDim"], index, shared_c, shared_p)

    # The model file holds the decoder, the prompt encoder and every adapter tensor under the names
    # named_parameters() gives them here (C and P once, under block 0).
    params = dict(sam.named_parameters())
    params.update(dict(sam.named_buffers()))
    rest = read_safetensors(files["model"])
    expected = {n for n in params if not n.startswith("image_encoder.") or (".mlp." in n and ".mlp.mlp." not in n)}
    expected -= {n for n in expected if n.endswith((".units", "pixel_mean", "pixel_std"))}
    if set(rest) != expected:
        raise SystemExit(f"model file and module disagree: missing {sorted(expected - set(rest))[:5]}, extra {sorted(set(rest) - expected)[:5]}")
    with torch.no_grad():
        for name, value in rest.items():
            params[name].copy_(value)
    return sam


def mask_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits (mean) + MONAI squared Dice (per mask, smooth 1e-5, mean over masks)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits).flatten(1)
    g = target.flatten(1)
    dice = 1 - (2 * (p * g).sum(1) + 1e-5) / ((p * p).sum(1) + (g * g).sum(1) + 1e-5)
    return bce + dice.mean()


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    torch.set_num_threads(job["threads"])
    baseline = status_kib("VmRSS")
    sam = build_model(job["config"], job["files"])
    batch = read_safetensors(job["files"]["batch"])
    image, boxes, target = batch["image"], batch["boxes"], batch["target"]  # (Bi, 3, S, S), (P, 4), (P, 1, 4g, 4g)
    per_image = boxes.shape[0] // image.shape[0]

    for p in sam.parameters():
        p.requires_grad_(False)
    adapters = [(n, p) for n, p in sam.image_encoder.named_parameters() if ".mlp." in n and ".mlp.mlp." not in n]
    trainable = adapters + list(sam.mask_decoder.named_parameters(prefix="mask_decoder"))
    for _, p in trainable:
        p.requires_grad_(True)
    lr = job["lr"]
    adam = torch.optim.Adam(
        [
            {"params": [p for n, p in trainable if "FacT" in n], "lr": lr["fact"]},
            {"params": [p for n, p in trainable if "FacT" not in n], "lr": lr["rest"]},
        ]
    )
    sam.train()
    peak_reset = reset_peak()

    losses = []

    def step() -> None:
        adam.zero_grad(set_to_none=True)
        embeddings = sam.image_encoder(image)
        pe = sam.prompt_encoder.get_dense_pe()
        masks = []
        for i in range(image.shape[0]):
            sparse, dense = sam.prompt_encoder(points=None, boxes=boxes[i * per_image:(i + 1) * per_image], masks=None)
            low_res, _ = sam.mask_decoder(
                image_embeddings=embeddings[i:i + 1], image_pe=pe, sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False
            )
            masks.append(low_res)
        loss = mask_loss(torch.cat(masks), target)
        loss.backward()
        adam.step()
        losses.append(loss.item())

    for _ in range(job["warmup"]):
        step()
    times = []
    for _ in range(job["runs"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    out = {
        "times": times,
        "losses": losses,
        "trainableParameters": sum(p.numel() for _, p in trainable),
        "peakBytes": (status_kib("VmHWM") - baseline) * 1024,
        "peakRssBytes": status_kib("VmHWM") * 1024,
        "peakReset": peak_reset,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
    }
    print("RESULT_JSON " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
