"""GPU path: seconds of wall time per second of output for the full-size LTX-Video 2B, option by option.

The model is the real architecture with random weights (same shapes, so the same FLOPs and memory as the
released checkpoints): the 2B transformer (28 blocks, 32 heads of 64, diffusers' defaults), the 0.9.5+ VAE
(x32 spatial / x8 temporal, timestep-conditioned decoder) and a T5-XXL-sized encoder (24 layers, d_model 4096),
built straight on the device in bf16. It is wrapped in shortgen's own :class:`LTXBackend`, so the timed path is
the library's ``generate()`` (prompt embeddings, the distilled 8-step schedule, decode, uint8 frames on the CPU).

One segment is 121 frames of 544x960 at 30 fps; ``make`` chains segments that share 17 frames, so each one after
the first adds 104 new frames (3.47 s of video): "wall per output s" = segment seconds / 3.47. Options, in order:

a. bf16 eager, the prompt re-encoded every call (a new prompt each time)
b. prompt embeddings cached (``prepare_prompts``) and the T5 encoder released (``release_text_encoder``)
   then: a sweep of diffusers' attention backends over one transformer forward at the real shapes
d0. b + the fastest attention backend, eager
h. b + no ``empty_cache()`` between segments (what ``generate()`` does now after every call)
f. b + VAE tiling
g. overlap: decode segment i on a second CUDA stream while segment i+1 denoises (independent segments)
e. fp8 weight storage (``enable_layerwise_casting``, as ``LoadOptions(fp8=True)`` applies it), bf16 compute
c. b + ``transformer.compile()`` (what ``LoadOptions(compile=True)`` does); compile time reported apart
d. c + the fastest attention backend (recompiles)
l2a/l2b, s1. LTX-2 (picture + sound) and the ``--sound`` text-to-audio model: see :mod:`benchmarks.gpu_sound`
m. a whole 15 s ``make_clip`` (5 chained, conditioned segments, upscale, encode) with the best configuration:
   with make's default overlap (the next segment generates while the post path encodes this one), that plus
   ``--decode-ahead`` (segment i decodes on a second stream while i+1 denoises, conditioned on a tail decode),
   and fully serial
u. the upscalers (``--upscale latent``, ``--upscale model:``): see :mod:`benchmarks.gpu_upscale`

Without CUDA (or with ``--cpu-small``) the same code runs on the CPU with narrow widths and a tiny size, so the
script stays correct where no GPU is at hand: ``python -m benchmarks gpu`` or ``python -m benchmarks.gpu --cpu-small``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "a barista pours a rosetta into a cup of coffee, slow camera push in, warm window light"
ATTENTION_CANDIDATES = (
    "native", "_native_cudnn", "_native_efficient", "_native_flash", "attn1:_native_flash", "attn1:_native_cudnn",
    "flash", "_flash_3", "sage", "xformers",
)


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    frames: int
    overlap: int  # frames shared with the previous segment when make chains segments
    fps: int
    steps: int
    make_seconds: float

    @property
    def output_seconds_per_segment(self) -> float:
        return (self.frames - self.overlap) / self.fps


FULL = Size("full", 544, 960, 121, 17, 30, 8, 15.0)
SMALL = Size("cpu-small", 96, 160, 25, 9, 30, 8, 10.0)  # 10 s: the tiktok preset's shortest


@dataclass
class Row:
    option: str
    seconds: float | None = None  # median per segment (or per make run)
    runs: int = 0
    spread: tuple[float, float] | None = None
    first_call_s: float | None = None
    peak_alloc_gb: float | None = None
    peak_reserved_gb: float | None = None
    weights_gb: float | None = None
    wall_per_output_s: float | None = None
    note: str = ""
    error: str | None = None


@dataclass
class Report:
    size: Size
    device: str
    environment: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    attention: dict[str, Any] = field(default_factory=dict)
    json_path: Path | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(format_row(row), flush=True)
        self.save()
        return row

    def save(self) -> None:
        if self.json_path:
            data = {"size": asdict(self.size), "device": self.device, "environment": self.environment,
                    "rows": [asdict(r) for r in self.rows], "attention": self.attention}
            self.json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------ architecture


def transformer_config(full: bool) -> dict[str, Any]:
    """LTX-Video 2B (0.9.x): diffusers' defaults, written out. Small: the same layout, narrow."""
    if full:
        return {"in_channels": 128, "out_channels": 128, "patch_size": 1, "patch_size_t": 1,
                "num_attention_heads": 32, "attention_head_dim": 64, "cross_attention_dim": 2048,
                "num_layers": 28, "caption_channels": 4096}
    return {"in_channels": 8, "out_channels": 8, "patch_size": 1, "patch_size_t": 1, "num_attention_heads": 2,
            "attention_head_dim": 16, "cross_attention_dim": 32, "num_layers": 2, "caption_channels": 32}


def vae_config(full: bool) -> dict[str, Any]:
    """The 0.9.5+ VAE (diffusers' convert_ltx_to_diffusers.py, version 0.9.5; 0.9.7 / 0.9.8 share it)."""
    widths: dict[str, Any] = {
        "latent_channels": 128, "block_out_channels": (128, 256, 512, 1024, 2048),
        "decoder_block_out_channels": (256, 512, 1024), "layers_per_block": (4, 6, 6, 2, 2),
        "decoder_layers_per_block": (5, 5, 5, 5),
    } if full else {
        "latent_channels": 8, "block_out_channels": (8, 8, 16, 16, 16), "decoder_block_out_channels": (8, 16, 32),
        "layers_per_block": (1, 1, 1, 1, 1), "decoder_layers_per_block": (1, 1, 1, 1),
    }
    return {
        "in_channels": 3, "out_channels": 3, **widths,
        "down_block_types": ("LTXVideo095DownBlock3D",) * 4,
        "spatio_temporal_scaling": (True,) * 4, "decoder_spatio_temporal_scaling": (True,) * 3,
        "decoder_inject_noise": (False,) * 4,
        "downsample_type": ("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        "upsample_residual": (True,) * 3, "upsample_factor": (2,) * 3, "timestep_conditioning": True,
        "patch_size": 4, "patch_size_t": 1, "resnet_norm_eps": 1e-6, "scaling_factor": 1.0,
        "encoder_causal": True, "decoder_causal": False,
        "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
    }


def t5_config(full: bool) -> dict[str, Any]:
    """google/t5-v1_1-xxl's encoder (4.8B parameters; larger than the 2B transformer). Small: narrow."""
    shape = ({"vocab_size": 32128, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64}
             if full else
             {"vocab_size": 512, "d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 2, "num_heads": 2})
    return {**shape, "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
            "feed_forward_proj": "gated-gelu", "dropout_rate": 0.0, "pad_token_id": 0, "eos_token_id": 1,
            "decoder_start_token_id": 0}


def build_transformer(full: bool, device: Any, dtype: Any) -> Any:
    import torch
    from diffusers import LTXVideoTransformer3DModel

    from shortgen.backends.tiny import quiet_hf_libraries

    torch.manual_seed(0)
    # Random init straight on the device: seconds, not minutes.
    with quiet_hf_libraries(), torch.device(device):
        return LTXVideoTransformer3DModel(**transformer_config(full)).to(dtype).eval()


def build_pipeline(full: bool, device: Any, dtype: Any) -> Any:
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXConditionPipeline
    from transformers import T5Config, T5EncoderModel

    from shortgen.backends.tiny import quiet_hf_libraries, tiny_ltx_pipeline

    with quiet_hf_libraries():
        tokenizer = tiny_ltx_pipeline(0).tokenizer  # offline; prompts are padded to 256 tokens either way
        torch.manual_seed(1)
        with torch.device(device):
            vae = AutoencoderKLLTXVideo(**vae_config(full)).to(dtype).eval()
            text_encoder = T5EncoderModel(T5Config(**t5_config(full))).to(dtype).eval()
        keep_fp32_like_from_pretrained(text_encoder)
        return LTXConditionPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=False), vae=vae,
            text_encoder=text_encoder, tokenizer=tokenizer, transformer=build_transformer(full, device, dtype),
        )


def keep_fp32_like_from_pretrained(model: Any) -> None:
    """``from_pretrained(dtype=bf16)`` keeps T5's ``wo`` projections in float32; do the same."""
    keep = set(getattr(model, "_keep_in_fp32_modules", None) or ())
    for name, module in model.named_modules():
        if keep & set(name.split(".")):
            module.float()


def wrap_backend(pipe: Any, device: Any, dtype: Any, compile_: bool = False) -> Any:
    from shortgen.backends.base import LoadOptions
    from shortgen.backends.ltx import LTXBackend, ModelSource

    pipe.set_progress_bar_config(disable=True)
    options = LoadOptions(model="random-ltx-video-2b", device=device.type, compile=compile_)
    return LTXBackend(pipe=pipe, options=options, source=ModelSource("folder", "(random weights in memory)"),
                      device=device, dtype=dtype, base_model=None, distilled=True, random_weights=True)


def weights_gb(pipe: Any) -> float:
    total = 0
    for name in ("transformer", "vae", "text_encoder"):
        module = getattr(pipe, name, None)
        if module is not None:
            total += sum(p.numel() * p.element_size() for p in module.parameters())
    return total / 2**30


# ------------------------------------------------------------------------------------------------ timing


class Clock:
    """Wall time with the device drained on both sides; peak memory since ``reset``."""

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        self.cuda = device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset(self) -> None:
        self.sync()
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peaks(self) -> tuple[float | None, float | None]:
        if not self.cuda:
            return None, None
        return self.torch.cuda.max_memory_allocated() / 2**30, self.torch.cuda.max_memory_reserved() / 2**30

    def time(self, fn: Callable[[], Any]) -> float:
        self.sync()
        started = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - started


def measure(report: Report, clock: Clock, option: str, fn: Callable[[], Any], runs: int, *, pipe: Any = None,
            note: str = "", output_seconds: float | None = None) -> Row:
    """One warm-up call (its time is kept: with compile it holds the compilation), then the median of ``runs``."""
    row = Row(option, note=note)
    try:
        clock.reset()
        row.first_call_s = clock.time(fn)
        times = [clock.time(fn) for _ in range(runs)]
    except Exception as err:  # a benchmark row that cannot run is a finding, not a crash
        row.error = one_line(err)
        return report.add(row)
    row.seconds = statistics.median(times)
    row.runs = runs
    row.spread = (min(times), max(times))
    row.peak_alloc_gb, row.peak_reserved_gb = clock.peaks()
    row.weights_gb = weights_gb(pipe) if pipe is not None else None
    per = output_seconds if output_seconds is not None else report.size.output_seconds_per_segment
    row.wall_per_output_s = row.seconds / per
    return report.add(row)


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:300] if text else ''}"


def request(size: Size, prompt: str, seed: int = 0) -> Any:
    from shortgen.backends.base import SegmentRequest

    return SegmentRequest(index=0, prompt=prompt, negative_prompt="", width=size.width, height=size.height,
                          num_frames=size.frames, fps=size.fps, steps=size.steps, guidance_scale=1.0, seed=seed)


# ------------------------------------------------------------------------------------------------ options


def fresh_prompts() -> Iterator[str]:
    count = 0
    while True:
        count += 1
        yield f"{PROMPT}, take {count}"


def capture_transformer_call(backend: Any, size: Size) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of one transformer forward inside a real ``generate()``."""
    captured: dict[str, Any] = {}

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured.setdefault("call", (args, kwargs))

    handle = backend.pipeline.transformer.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        backend.generate(request(size, PROMPT))
    finally:
        handle.remove()
    return captured["call"]


def set_attention(transformer: Any, name: str) -> None:
    """``attn1:NAME`` sets the backend on the self-attention layers only (cross-attention has a padding mask,
    which flash kernels refuse); any other name goes through diffusers' ``set_attention_backend``."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    from shortgen.backends.tiny import quiet_hf_libraries

    with quiet_hf_libraries():
        transformer.set_attention_backend("native")
        if name.startswith("attn1:"):
            backend = AttentionBackendName(name.split(":", 1)[1])
            for block in transformer.transformer_blocks:
                block.attn1.processor._attention_backend = backend
        elif name != "native":
            transformer.set_attention_backend(name)


def sweep_attention(report: Report, clock: Clock, backend: Any, size: Size, runs: int) -> str:
    """Time one transformer forward per backend; return the fastest that runs and matches ``native``."""
    import torch

    transformer = backend.pipeline.transformer
    args, kwargs = capture_transformer_call(backend, size)

    def forward() -> Any:
        return transformer(*args, **{**kwargs, "return_dict": False})[0]

    results: dict[str, Any] = {}
    reference = None
    for name in ATTENTION_CANDIDATES:
        try:
            set_attention(transformer, name)
            with torch.inference_mode():
                out = forward().float()
                clock.time(forward)
                seconds = statistics.median(clock.time(forward) for _ in range(runs))
            if name == "native":
                reference = out if bool(torch.isfinite(out).all()) else None
            error = float((out - reference).norm() / reference.norm()) if reference is not None else None
            results[name] = {"forward_s": seconds, "rel_error_vs_native": error}
        except Exception as err:
            results[name] = {"error": one_line(err)}
        print(f"attention {name}: {results[name]}", flush=True)
    set_attention(transformer, "native")
    usable = {k: v for k, v in results.items()
              if "forward_s" in v and (v["rel_error_vs_native"] is None or v["rel_error_vs_native"] < 0.05)}
    best = min(usable, key=lambda k: usable[k]["forward_s"]) if usable else "native"
    if best != "native" and usable[best]["forward_s"] > 0.97 * results["native"].get("forward_s", 0.0):
        best = "native"  # within noise of the default: not worth a recompile
    report.attention = {"results": results, "best": best}
    report.save()
    return best


class Decoder:
    """The tail of ``LTXConditionPipeline.__call__`` (denormalise, decode noise, timestep-conditioned decode),
    so latents from ``output_type="latent"`` can be decoded apart, e.g. on another stream."""

    def __init__(self, pipe: Any, dtype: Any) -> None:
        self.pipe = pipe
        self.dtype = dtype

    def __call__(self, latents: Any, seed: int) -> Any:
        import torch

        from shortgen.backends.ltx import CALL_DEFAULTS, _to_uint8

        pipe = self.pipe
        latents = pipe._denormalize_latents(latents, pipe.vae.latents_mean, pipe.vae.latents_std,
                                            pipe.vae.config.scaling_factor).to(self.dtype)
        generator = torch.Generator(device=latents.device).manual_seed(seed)
        noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
        scale = CALL_DEFAULTS["decode_noise_scale"]
        latents = (1 - scale) * latents + scale * noise
        timestep = torch.tensor([CALL_DEFAULTS["decode_timestep"]], device=latents.device, dtype=latents.dtype)
        video = pipe.vae.decode(latents, timestep, return_dict=False)[0]
        return _to_uint8(pipe.video_processor.postprocess_video(video, output_type="pt")[0])


def denoiser(pipe: Any, embeds: dict[str, Any], size: Size) -> Callable[[int], Any]:
    import torch

    from shortgen.backends.ltx import CALL_DEFAULTS, DISTILLED_TIMESTEPS
    from shortgen.backends.tiny import quiet_hf_libraries

    def denoise(seed: int) -> Any:
        generator = torch.Generator(device=pipe._execution_device).manual_seed(seed)
        with quiet_hf_libraries():
                return pipe(height=size.height, width=size.width, num_frames=size.frames, frame_rate=size.fps,
                        guidance_scale=1.0, timesteps=list(DISTILLED_TIMESTEPS), num_inference_steps=size.steps,
                        generator=generator, output_type="latent", return_dict=False,
                        max_sequence_length=CALL_DEFAULTS["max_sequence_length"], **embeds)[0]

    return denoise


def overlap_runner(pipe: Any, embeds: dict[str, Any], size: Size, dtype: Any, segments: int,
                   overlapped: bool) -> Callable[[], list[Any]]:
    """``segments`` independent segments: decode each right after its denoising, or decode segment i on a
    second stream (a thread) while segment i+1 denoises. Real chains condition segment i+1 on segment i's
    decoded tail, so this is the ceiling of the idea; ``make --decode-ahead`` (the m rows) pays a tail decode
    per segment for it."""
    import torch

    denoise, decode = denoiser(pipe, embeds, size), Decoder(pipe, dtype)
    cuda = pipe._execution_device.type == "cuda"

    def sequential() -> list[Any]:
        with torch.inference_mode():
            return [decode(denoise(i), i) for i in range(segments)]

    def decode_on_side(latents: Any, seed: int, ready: Any, stream: Any, out: list[Any]) -> None:
        with torch.inference_mode(), torch.cuda.stream(stream) if cuda else contextlib.nullcontext():
            if cuda:
                stream.wait_event(ready)
                latents.record_stream(stream)  # the allocator must not reuse it while the side stream reads it
            out.append(decode(latents, seed))

    def concurrent() -> list[Any]:
        stream = torch.cuda.Stream() if cuda else None
        frames: list[Any] = []
        with torch.inference_mode():
            latents = denoise(0)
            for i in range(1, segments):
                ready = torch.cuda.Event() if cuda else None
                if ready is not None:
                    ready.record()
                side = threading.Thread(target=decode_on_side, args=(latents, i - 1, ready, stream, frames))
                side.start()
                latents = denoise(i)
                side.join()
            frames.append(decode(latents, segments - 1))
        return frames

    return concurrent if overlapped else sequential


def make_row(report: Report, clock: Clock, backend: Any, size: Size, option: str, folder: Path,
             overlap: bool, decode_ahead: bool = False) -> Row:
    """A whole clip through ``make_clip``: chained, conditioned segments, upscale to 1080x1920, H.264."""
    from shortgen.config import MakeOptions
    from shortgen.pipeline import make_clip
    from shortgen.progress import RecordingProgress

    options = MakeOptions(prompt=PROMPT, preset="tiktok", duration=size.make_seconds, seed=3,
                          gen_size=f"{size.width}x{size.height}", segment_frames=size.frames,
                          overlap_frames=size.overlap, fps=size.fps, decode_ahead=decode_ahead,
                          output=str(folder / "make.mp4"))
    backend.prepare_prompts([PROMPT], "", 1.0)  # no guidance: the negative prompt is not encoded
    row = Row(option, runs=1, note="")
    progress = RecordingProgress()  # keeps warnings, e.g. why --decode-ahead fell back to the plain path
    try:
        clock.reset()
        started = time.perf_counter()
        result = make_clip(options, backend=backend, overwrite=True, write_sidecar=False, overlap=overlap,
                           progress=progress)
        row.seconds = time.perf_counter() - started
    except Exception as err:
        row.error = one_line(err)
        return report.add(row)
    row.peak_alloc_gb, row.peak_reserved_gb = clock.peaks()
    row.wall_per_output_s = row.seconds / result.duration
    segments = len((result.plan or {}).get("segments", []))
    timings = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
    row.note = f"{result.frames} frames ({result.duration:.2f} s), {segments} segments; timings s: {timings}"
    row.note += "".join(f"; warning: {message}" for message in progress.warnings)
    return report.add(row)


# --------------------------------------------------------------------------------------------- the run


def environment(device: Any) -> dict[str, str]:
    import diffusers
    import torch
    import transformers

    env = {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
           "torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
           "host": f"{platform.node()}: {os.cpu_count()} cores"}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = str(torch.version.cuda)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            env["driver"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    return env


class Deadline:
    def __init__(self, budget_s: float | None) -> None:
        self.end = time.perf_counter() + budget_s if budget_s else None

    def allows(self, seconds: float, what: str) -> bool:
        if self.end is None or time.perf_counter() + seconds < self.end:
            return True
        print(f"skipped {what}: under {seconds:.0f} s of the time budget left", flush=True)
        return False


def run(size: Size, device_name: str, runs: int, budget_s: float | None, json_path: Path | None,
        skip: set[str]) -> Report:
    import torch

    from shortgen.backends.ltx import enable_fp8, pick_device

    device = pick_device(device_name)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    report = Report(size, str(device), environment(device), json_path=json_path)
    deadline = Deadline(budget_s)
    clock = Clock(device)
    full = size is FULL
    started = time.perf_counter()
    pipe = build_pipeline(full, device, dtype)
    clock.sync()
    print(f"built {size.name} pipeline in {time.perf_counter() - started:.1f} s, "
          f"weights {weights_gb(pipe):.2f} GiB", flush=True)
    backend = wrap_backend(pipe, device, dtype)
    one = request(size, PROMPT)

    prompts = fresh_prompts()
    if "a" not in skip:
        measure(report, clock, f"a. {str(dtype)[6:]} eager, prompt encoded per call", lambda: backend.generate(
            request(size, next(prompts))), runs, pipe=pipe, note="T5 resident")
    embeds = encode_once(pipe)
    backend.prepare_prompts([PROMPT], "", 1.0)
    backend.release_text_encoder()
    measure(report, clock, "b. + cached embeddings, T5 released", lambda: backend.generate(one), runs, pipe=pipe)

    best = "native"
    if "attention" not in skip and deadline.allows(60, "attention sweep"):
        best = sweep_attention(report, clock, backend, size, runs)
        if best != "native":
            set_attention(pipe.transformer, best)
            measure(report, clock, f"d0. b + attention {best}, eager", lambda: backend.generate(one), runs,
                    pipe=pipe)
            set_attention(pipe.transformer, "native")

    if "cache" not in skip and deadline.allows(40, "keep CUDA cache"):
        free = backend._free_memory
        backend._free_memory = lambda: None  # generate() empties the CUDA cache after every call
        measure(report, clock, "h. b + CUDA cache kept between calls", lambda: backend.generate(one), runs,
                pipe=pipe)
        backend._free_memory = free

    if "tiling" not in skip and deadline.allows(40, "VAE tiling"):
        pipe.vae.enable_tiling()  # what LoadOptions(vae_tiling=True) does, with diffusers' default tiles
        measure(report, clock, "f. b + VAE tiling", lambda: backend.generate(one), runs, pipe=pipe,
                note=f"describe(): vae_tiling={backend.describe()['vae_tiling']}")
        pipe.vae.disable_tiling()

    if "overlap" not in skip and deadline.allows(60, "decode/denoise overlap"):
        for overlapped in (False, True):
            name = "g. 2 segments, decode 1 overlapped with denoise 2" if overlapped else \
                "g0. 2 segments, denoise then decode (same work, sequential)"
            measure(report, clock, name, overlap_runner(pipe, embeds, size, dtype, 2, overlapped), runs, pipe=pipe,
                    output_seconds=2 * size.output_seconds_per_segment, note="independent segments")

    if "fp8" not in skip and deadline.allows(40, "fp8 weights"):
        pipe.transformer = build_transformer(full, device, dtype)
        enable_fp8(pipe.transformer, dtype, device)
        measure(report, clock, "e. b + fp8 e4m3 weight storage (layerwise casting)", lambda: backend.generate(one),
                runs, pipe=pipe)
        pipe.transformer = build_transformer(full, device, dtype)
        free_cache(device)

    if "compile" not in skip and deadline.allows(200, "compile"):
        pipe.transformer.compile()
        measure(report, clock, "c. b + transformer.compile()", lambda: backend.generate(one), runs, pipe=pipe,
                note="first call includes compilation")
        if best != "native" and deadline.allows(290, "compile + attention"):
            set_attention(pipe.transformer, best)
            measure(report, clock, f"d. c + attention {best}", lambda: backend.generate(one), runs, pipe=pipe,
                    note="first call includes recompilation")

    configuration = f"compiled, attention {best}" if "compile" not in skip else "eager"
    for overlap, decode_ahead in ((True, False), (True, True), (False, False)):
        if "make" not in skip and deadline.allows(90, "make"):
            with tempfile.TemporaryDirectory() as tmp:
                how = "post overlapped" if overlap else "serial"
                how += ", --decode-ahead" if decode_ahead else ""
                make_row(report, clock, backend, size, f"m. make_clip {size.make_seconds:g} s ({configuration}, "
                         f"{how})", Path(tmp), overlap, decode_ahead)
    if "upscale" not in skip:  # issue 12: --upscale latent and model: rows (benchmarks/gpu_upscale.py)
        from benchmarks.gpu_upscale import run_rows

        run_rows(report, clock, backend, pipe, size, device, dtype, runs, deadline)
    # --- sound rows (ltx2 branch): LTX-2 picture + sound, and the --sound text-to-audio model
    backend = pipe = None  # free the LTX-Video model for the larger LTX-2 one
    free_cache(device)
    from benchmarks.gpu_sound import run_sound_rows

    run_sound_rows(report, clock, size, device, dtype, runs, deadline, skip)
    return report


def encode_once(pipe: Any) -> dict[str, Any]:
    import torch

    from shortgen.backends.ltx import CALL_DEFAULTS

    with torch.inference_mode():
        embeds, mask, _, _ = pipe.encode_prompt(prompt=PROMPT, do_classifier_free_guidance=False,
                                                max_sequence_length=CALL_DEFAULTS["max_sequence_length"],
                                                device=pipe._execution_device)
    return {"prompt_embeds": embeds, "prompt_attention_mask": mask}


def free_cache(device: Any) -> None:
    import gc

    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# ------------------------------------------------------------------------------------------------ output


def format_row(row: Row) -> str:
    if row.error:
        return f"| {row.option} | failed: {row.error} | | | | | |"
    spread = f" ({row.spread[0]:.2f}–{row.spread[1]:.2f})" if row.spread else ""
    first = f"{row.first_call_s:.1f}" if row.first_call_s is not None else ""
    peak = f"{row.peak_alloc_gb:.1f}" if row.peak_alloc_gb is not None else "n/a"
    weights = f"{row.weights_gb:.1f}" if row.weights_gb is not None else ""
    return (f"| {row.option} | {row.seconds:.2f}{spread} | {row.wall_per_output_s:.2f} | {first} | {peak} | "
            f"{weights} | {row.note} |")


def print_report(report: Report, runs: int) -> None:
    size = report.size
    print(f"\n## GPU path: LTX-Video 2B architecture, random weights ({size.name})\n")
    print(", ".join(f"{k} {v}" for k, v in report.environment.items()))
    print(f"segment: {size.frames} frames of {size.width}x{size.height} at {size.fps} fps, {size.steps} steps; "
          f"{size.frames - size.overlap} new frames per chained segment = {size.output_seconds_per_segment:.2f} s "
          f"of output\n")
    print(f"| option | s per segment, median of {runs} (min–max) | wall s per output s | first call s | "
          "peak GiB | weights GiB | note |")
    print("|---|---|---|---|---|---|---|")
    for row in report.rows:
        print(format_row(row))
    if report.attention:
        print(f"\nattention backends (one transformer forward, median of {runs}); best: {report.attention['best']}")
        for name, result in report.attention["results"].items():
            print(f"  {name}: {result}")
    sys.stdout.flush()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-small", action="store_true", help="tiny widths and size on the CPU (a correctness run)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--runs", type=int, default=3, help="timed calls per option after one warm-up")
    parser.add_argument("--budget-s", type=float, default=None, help="skip options that would run past this")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here, after every row")
    parser.add_argument("--skip", default="", help="comma list: a,attention,cache,tiling,overlap,fp8,compile,make,"
                        "upscale,ltx2,sound")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import torch

    args = parse(sys.argv[1:] if argv is None and __name__ == "__main__" else (argv or []))
    small = args.cpu_small or not torch.cuda.is_available() or args.device == "cpu"
    size = SMALL if small else FULL
    device = "cpu" if small else args.device
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    report = run(size, device, args.runs, args.budget_s, args.json, skip)
    print_report(report, args.runs)


if __name__ == "__main__":
    main()
