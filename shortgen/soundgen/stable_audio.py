"""Text-to-audio through diffusers' ``StableAudioPipeline`` (Stable Audio Open 1.0 by default).

The model is loaded, makes the whole track window by window (see :mod:`shortgen.soundgen.plan`), and is freed
before the video model loads, so the two never share memory. The model may be a local diffusers folder (e.g. the
tiny one from ``shortgen models tiny-sound DIR``) or a Hub id, from the local cache when offline.
"""

from __future__ import annotations

import gc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from shortgen.errors import ModelError
from shortgen.progress import Progress
from shortgen.soundgen.buffer import GeneratedAudio, as_stereo
from shortgen.soundgen.plan import (
    DEFAULT_SOUND_STEPS,
    SoundRequest,
    Window,
    crossfade_samples,
    join_windows,
    plan_windows,
)
from shortgen.tinymodels import read_marker

SOUND_PIPELINE_CLASSES = frozenset({"StableAudioPipeline"})
INSTALL_HINT = "pip install 'shortgen[sound]' (Stable Audio's scheduler needs torchsde)"


def generate_sound(request: SoundRequest, *, device: str = "auto", dtype: str = "auto",
                   progress: Progress | None = None) -> tuple[GeneratedAudio, dict[str, Any]]:
    """Load the model, make ``request.seconds`` of sound, free the model. Returns the finished track and the
    facts for the sidecar (prompt, model, seed, windows)."""
    progress = progress or Progress()
    pipe, torch_device = load_sound_pipeline(request.model, device, dtype, progress)
    try:
        return make_track(pipe, request, request.steps or _default_steps(request.model), progress)
    finally:
        del pipe
        _free(torch_device)


def make_track(pipe: Any, request: SoundRequest, steps: int,
               progress: Progress | None = None) -> tuple[GeneratedAudio, dict[str, Any]]:
    """``request.seconds`` of sound from a loaded ``StableAudioPipeline``, window by window, joined."""
    progress = progress or Progress()
    rate = int(pipe.vae.config.sampling_rate)
    window_seconds = pipe.transformer.config.sample_size * pipe.vae.hop_length / rate
    total = round(request.seconds * rate)
    windows = plan_windows(total, int(window_seconds * rate), crossfade_samples(window_seconds, rate), request.seed)
    progress.start("sound", "Generating sound", len(windows) * steps)
    pieces = [(w, _window_audio(pipe, request, w, rate, steps, progress)) for w in windows]
    progress.finish("sound")
    track = GeneratedAudio(rate, description=f"generated sound ({request.model})")
    track.append(_limit_peak(join_windows(pieces, total)))
    track.finish()
    facts = {**request.describe(), "steps": steps, "sample_rate": rate, "window_seconds": window_seconds,
             "windows": len(windows)}
    return track, facts


def load_sound_pipeline(model: str, device: str, dtype: str, progress: Progress) -> tuple[Any, Any]:
    from shortgen.backends.ltx import _hub_error, _offline, _require_cached, pick_device, pick_dtype, quiet_hf_libraries

    _require_torchsde()
    torch_device = pick_device(device)
    # float16 overflows in the Oobleck decoder; bfloat16 on GPUs, float32 on the CPU.
    torch_dtype = pick_dtype(dtype, torch_device)
    local = Path(model).expanduser()
    if local.is_dir():
        _check_sound_folder(local)
    else:
        _require_cached(model, None, "the --sound model")
    progress.start("sound-load", "Loading sound model", None)
    from diffusers import StableAudioPipeline

    try:
        with quiet_hf_libraries(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Oobleck still uses torch's deprecated weight_norm
            pipe = StableAudioPipeline.from_pretrained(str(local) if local.is_dir() else model, dtype=torch_dtype,
                                                       local_files_only=not local.is_dir() and _offline())
    except OSError as err:
        raise _hub_error(err, model, None, "the --sound model") from None
    pipe.to(torch_device)
    pipe.set_progress_bar_config(disable=True)
    progress.finish("sound-load")
    return pipe, torch_device


def _window_audio(pipe: Any, request: SoundRequest, window: Window, rate: int, steps: int,
                  progress: Progress) -> np.ndarray:
    import torch

    from shortgen.backends.ltx import quiet_hf_libraries

    device = pipe._execution_device
    generator = torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(window.seed)
    # int(end * rate) inside the pipeline: ask for a hair more and cut to the window's exact sample count.
    seconds = (window.length + 0.5) / rate
    with torch.inference_mode(), quiet_hf_libraries(), warnings.catch_warnings():
        # torchsde's Brownian interval warns about float rounding of the schedule's end points on every step.
        warnings.filterwarnings("ignore", category=UserWarning, module="torchsde")
        audio = pipe(request.prompt, negative_prompt=request.negative_prompt or None, audio_end_in_s=seconds,
                     num_inference_steps=steps, guidance_scale=request.guidance_scale, generator=generator,
                     callback=lambda step, t, latents: progress.advance("sound"), callback_steps=1).audios
    return as_stereo(audio[0].float().cpu().numpy())[:, :window.length]


def _limit_peak(track: np.ndarray, ceiling: float = 0.98) -> np.ndarray:
    """Scale the whole track down if it would clip (random tiny weights do; real models rarely)."""
    peak = float(np.abs(track).max()) if track.size else 0.0
    return track * (ceiling / peak) if peak > ceiling else track


def _default_steps(model: str) -> int:
    marker = read_marker(Path(model)) if Path(model).is_dir() else None
    return int(marker["default_steps"]) if marker and "default_steps" in marker else DEFAULT_SOUND_STEPS


def _check_sound_folder(path: Path) -> None:
    import json

    index = path / "model_index.json"
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError):
        raise ModelError(f"{path} is not a diffusers pipeline folder (no readable model_index.json)",
                         "pass a folder from `shortgen models tiny-sound DIR`, save_pretrained, or a Hub id") from None
    if class_name not in SOUND_PIPELINE_CLASSES:
        raise ModelError(f"{path} holds a {class_name}, not a text-to-audio model for --sound",
                         "pass a StableAudioPipeline folder or Hub id, e.g. stabilityai/stable-audio-open-1.0")


def _require_torchsde() -> None:
    import importlib.util

    if importlib.util.find_spec("torchsde") is None:
        raise ModelError("generated sound needs the torchsde package, which is not installed", INSTALL_HINT)


def _free(device: Any) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
