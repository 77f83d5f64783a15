"""Peer for bench/encoder-forward and bench/encoder-train: the official segment-anything
ImageEncoderViT on PyTorch CPU, loaded with the weights the Node side generated.

    sam_encoder.py forward <job.json>   times torch.no_grad() forward passes
    sam_encoder.py train <job.json>     times forward + backward steps (job "mode": frozen | full)
    sam_encoder.py export <job.json>    writes the encoder as ONNX for onnxruntime-node

The job file names the config (official build arguments, snake_case), the weights
(safetensors, keys "image_encoder.*"), the input image and output gradient, warm-up and timed run
counts, the thread count, and where to write outputs. Timing and memory come back as one JSON
line on stdout prefixed "RESULT_JSON ". Memory is resident memory from /proc/self/status: the
high-water mark during the runs (reset once the weights are loaded) above the resident size
before anything was loaded, so the interpreter and libtorch's code are left out and the weights,
activations and workspace are in; Node's side measures itself the same way.

segment_anything/__init__.py imports its predictor, which needs torchvision; the model classes
need only torch, so the package is entered without running that file.
"""
import importlib.util
import json
import sys
import time
import types
from functools import partial

import numpy as np
import torch

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    """Resets VmHWM to the current resident size (Linux clear_refs 5); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def read_safetensors(path: str) -> dict:
    """name -> torch tensor; a plain reader, so the peer needs no safetensors package."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = np.dtype(SAFETENSORS_DTYPES[entry["dtype"]])
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        out[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return out


def official_encoder_class():
    spec = importlib.util.find_spec("segment_anything")
    if spec is None:
        raise SystemExit("segment_anything is not installed (pip install segment-anything --no-deps)")
    package = types.ModuleType("segment_anything")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["segment_anything"] = package
    from segment_anything.modeling.image_encoder import ImageEncoderViT

    return ImageEncoderViT


def build_encoder(config: dict, weights: str) -> torch.nn.Module:
    """The encoder exactly as segment_anything/build_sam.py builds it, with the given weights."""
    encoder = official_encoder_class()(
        depth=config["depth"],
        embed_dim=config["embed_dim"],
        img_size=config["img_size"],
        mlp_ratio=config["mlp_ratio"],
        norm_layer=partial(torch.nn.LayerNorm, eps=config["encoder_layernorm_eps"]),
        num_heads=config["num_heads"],
        patch_size=config["patch_size"],
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=tuple(config["global_attn_indexes"]),
        window_size=config["window_size"],
        out_chans=config["out_chans"],
    )
    prefix = "image_encoder."
    state = {k[len(prefix):]: v for k, v in read_safetensors(weights).items() if k.startswith(prefix)}
    encoder.load_state_dict(state, strict=True)
    return encoder


def timed(step, warmup: int, runs: int) -> list:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def forward(job: dict, encoder: torch.nn.Module) -> dict:
    image = read_safetensors(job["input"])["image"]  # (1, 3, S, S)
    encoder.eval()
    result = {}

    def step():
        with torch.no_grad():
            result["y"] = encoder(image)

    times = timed(step, job["warmup"], job["runs"])
    result["y"].numpy().astype(np.float32).tofile(job["output"])
    return {"times": times}


def train(job: dict, encoder: torch.nn.Module) -> dict:
    """One step: zero the gradients, forward, backward with the given output gradient. "frozen":
    every weight frozen except pos_embed (autograd needs something that requires a gradient, and
    pos_embed's gradient is one sum over the batch; Node's side trains it too, so the gradients can
    be compared); "full": every weight trainable. No input gradient in either mode."""
    tensors = read_safetensors(job["input"])
    image, dy = tensors["image"], tensors["dy"]  # (1, 3, S, S), (1, C, g, g)
    full = job["mode"] == "full"
    for p in encoder.parameters():
        p.requires_grad_(full)
    encoder.pos_embed.requires_grad_(True)
    encoder.train()

    def step():
        encoder.zero_grad(set_to_none=True)
        encoder(image).backward(dy)

    times = timed(step, job["warmup"], job["runs"])
    checked = encoder.patch_embed.proj.weight.grad if full else encoder.pos_embed.grad
    checked.numpy().astype(np.float32).tofile(job["output"])
    return {"times": times}


def export(job: dict, encoder: torch.nn.Module) -> dict:
    """ONNX at opset 17 with the TorchScript exporter (dynamo=False): the dynamo exporter emits
    opset 18 and cannot convert this graph down to 17 (the ONNX version converter has no Pad adapter)."""
    encoder.eval()
    size = job["config"]["img_size"]
    example = torch.zeros(1, 3, size, size)
    start = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(encoder, (example,), job["onnx"], opset_version=17, input_names=["image"], output_names=["embeddings"], dynamo=False)
    return {"seconds": time.perf_counter() - start}


def main() -> None:
    command, job_path = sys.argv[1], sys.argv[2]
    with open(job_path) as f:
        job = json.load(f)
    torch.set_num_threads(job.get("threads", torch.get_num_threads()))
    baseline = status_kib("VmRSS")
    encoder = build_encoder(job["config"], job["weights"])
    peak_reset = reset_peak()
    out = {"forward": forward, "train": train, "export": export}[command](job, encoder)
    out.update(
        {
            "peakBytes": (status_kib("VmHWM") - baseline) * 1024,
            "peakRssBytes": status_kib("VmHWM") * 1024,
            "peakReset": peak_reset,
            "threads": torch.get_num_threads(),
            "version": torch.__version__,
        }
    )
    print("RESULT_JSON " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
