"""GPU rows for sound: the LTX-2 backend (picture + sound, one model) and the text-to-audio model behind ``--sound``.

Both are the real architectures with random weights, built on the device in bf16, and timed through shortgen's own
code, in the same run as (and against) the LTX-Video rows of :mod:`benchmarks.gpu`:

* ``l2a`` / ``l2b``: one LTX-2 segment (the same 121 frames of 544x960 at 30 fps as the LTX-Video rows) through
  :class:`~shortgen.backends.ltx2.LTX2Backend` ``generate_with_audio`` with the distilled 8-step schedule: the
  19B audio-video transformer (diffusers' ``LTX2VideoTransformer3DModel`` defaults: 48 blocks, 4096 video /
  2048 audio width; 18.9B parameters), the x32 / x8 video VAE (1.2B), the audio VAE and 24 kHz vocoder, the text
  connectors (1.4B) and a Gemma 3 12B-sized text encoder (48 layers, hidden 3840, with its SigLIP tower; 12.2B).
  Parameter counts checked by building on the ``meta`` device. ``l2a`` encodes the prompt every call with
  Gemma resident; ``l2b`` has the embeddings cached and Gemma freed (what ``make`` does). The note gives the
  ratio to the LTX-Video row ``b`` (same segment, same work for ``make``).
* ``s1``: a 15 s sound bed through :func:`shortgen.soundgen.stable_audio.make_track` on the Stable Audio Open 1.0
  architecture (``StableAudioDiTModel`` defaults: 24 blocks of 1536, 1.06B parameters, 1024 latents = 47.55 s
  per window; the 44.1 kHz Oobleck VAE, 0.16B; a T5-base encoder, 0.11B), 100 steps as the model card
  recommends. Its "wall per output s" is
  per second of sound; the note gives its ratio to a whole ``make``'s (row ``m``, when it ran).

With ``--cpu-small`` the tiny builders' components stand in (``shortgen models tiny --backend ltx2``,
``shortgen models tiny-sound``), so the rows run here without a GPU.
"""

from __future__ import annotations

from typing import Any

SOUND_SECONDS = 15.0


def gemma3_12b_config(full: bool) -> Any:
    """google/gemma-3-12b-pt's shapes (what LTX-2's text encoder is); small: the tiny builder's."""
    from transformers import Gemma3Config

    if not full:
        from shortgen.backends.ltx2_tiny import tiny_ltx2_pipeline

        return tiny_ltx2_pipeline(0).text_encoder.config
    return Gemma3Config(
        text_config={"vocab_size": 262_208, "hidden_size": 3840, "intermediate_size": 15_360, "num_hidden_layers": 48,
                     "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256, "sliding_window": 1024,
                     "max_position_embeddings": 131_072},
        vision_config={"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27,
                       "num_attention_heads": 16, "image_size": 896, "patch_size": 14},
        mm_tokens_per_image=256,
    )


def build_ltx2(full: bool, device: Any, dtype: Any) -> Any:
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ConditionPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3ForConditionalGeneration

    from shortgen.backends.ltx import quiet_hf_libraries
    from shortgen.backends.ltx2_tiny import tiny_ltx2_pipeline

    tiny = tiny_ltx2_pipeline(0)
    if not full:
        return tiny.to(device)
    previous = torch.get_default_dtype()
    with quiet_hf_libraries(), torch.device(device):
        torch.set_default_dtype(dtype)  # random init straight in bf16 on the device: 31B parameters fit once
        try:
            torch.manual_seed(0)
            components = {
                "transformer": LTX2VideoTransformer3DModel(), "connectors": LTX2TextConnectors(),
                "vae": AutoencoderKLLTX2Video(spatial_compression_ratio=32, temporal_compression_ratio=8),
                "audio_vae": AutoencoderKLLTX2Audio(), "vocoder": LTX2Vocoder(),
                "text_encoder": Gemma3ForConditionalGeneration(gemma3_12b_config(True)),
            }
        finally:
            torch.set_default_dtype(previous)
    for module in components.values():
        module.eval()
    return LTX2ConditionPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), tokenizer=tiny.tokenizer, **components)


def build_stable_audio(full: bool, device: Any, dtype: Any) -> Any:
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    from shortgen.backends.ltx import quiet_hf_libraries
    from shortgen.soundgen.tiny import tiny_sound_pipeline

    tiny = tiny_sound_pipeline(0)
    if not full:
        return tiny.to(device)
    torch.manual_seed(0)
    with quiet_hf_libraries(), torch.device(device):
        components = {
            "transformer": StableAudioDiTModel(), "vae": AutoencoderOobleck(),
            "text_encoder": T5EncoderModel(T5Config(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                                                    vocab_size=32_128)),
            "projection_model": StableAudioProjectionModel(text_encoder_dim=768, conditioning_dim=768,
                                                           min_value=0, max_value=512),
        }
        # stable-audio-open-1.0 runs in float16 in diffusers' example; bf16 here like the other rows.
        components = {name: module.to(dtype).eval() for name, module in components.items()}
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    return StableAudioPipeline(tokenizer=tiny.tokenizer, scheduler=scheduler, **components)


def ltx2_backend(pipe: Any, device: Any, dtype: Any) -> Any:
    from shortgen.backends.base import LoadOptions
    from shortgen.backends.ltx2 import LTX2Backend

    pipe.set_progress_bar_config(disable=True)
    return LTX2Backend(pipe, LoadOptions(model="random-ltx2-19b", device=device.type), device, dtype,
                       distilled=True, random_weights=True)


def params_gb(pipe: Any, names: tuple[str, ...]) -> float:
    total = 0
    for name in names:
        module = getattr(pipe, name, None)
        if module is not None:
            total += sum(p.numel() * p.element_size() for p in module.parameters())
    return total / 2**30


def run_sound_rows(report: Any, clock: Any, size: Any, device: Any, dtype: Any, runs: int, deadline: Any,
                   skip: set[str]) -> None:
    """Append the ltx2 and text-to-audio rows to ``report`` (a :class:`benchmarks.gpu.Report`)."""
    from benchmarks.gpu import FULL, PROMPT, free_cache, measure, one_line, request

    full = size is FULL
    baseline = next((r.seconds for r in report.rows if r.option.startswith("b.") and r.seconds), None)
    make_row = next((r for r in report.rows if r.option.startswith("m.") and r.seconds), None)
    if "ltx2" not in skip and deadline.allows(240 if full else 20, "ltx2"):
        try:
            pipe = build_ltx2(full, device, dtype)
        except Exception as err:  # a row that cannot run is a finding, not a crash
            print(f"ltx2 rows skipped: {one_line(err)}", flush=True)
        else:
            backend = ltx2_backend(pipe, device, dtype)
            weights = params_gb(pipe, ("transformer", "vae", "audio_vae", "vocoder", "connectors", "text_encoder"))
            prompts = (f"{PROMPT}, drum take {i}" for i in range(1_000_000))
            row = measure(report, clock, "l2a. ltx2 segment + sound, prompt encoded per call",
                          lambda: backend.generate_with_audio(request(size, next(prompts))), runs,
                          note=f"Gemma resident; weights {weights:.1f} GiB")
            _ratio(row, baseline)
            backend.prepare_prompts([PROMPT], "", 1.0)
            backend.release_text_encoder()
            row = measure(report, clock, "l2b. ltx2 + cached embeddings, Gemma released",
                          lambda: backend.generate_with_audio(request(size, PROMPT)), runs,
                          note=f"weights {params_gb(pipe, ('transformer', 'vae', 'audio_vae', 'vocoder')):.1f} GiB")
            _ratio(row, baseline)
            backend = pipe = None
            free_cache(device)
    if "sound" not in skip and deadline.allows(120 if full else 20, "text-to-audio"):
        _sound_row(report, clock, full, device, dtype, runs, make_row)


def _sound_row(report: Any, clock: Any, full: bool, device: Any, dtype: Any, runs: int, make_row: Any) -> None:
    from benchmarks.gpu import PROMPT, free_cache, measure, one_line
    from shortgen.soundgen.plan import DEFAULT_SOUND_STEPS, SoundRequest
    from shortgen.soundgen.stable_audio import make_track
    from shortgen.soundgen.tiny import DEFAULT_STEPS

    try:
        pipe = build_stable_audio(full, device, dtype)
    except Exception as err:
        print(f"text-to-audio row skipped: {one_line(err)}", flush=True)
        return
    pipe.set_progress_bar_config(disable=True)
    steps = DEFAULT_SOUND_STEPS if full else DEFAULT_STEPS
    sound = SoundRequest(prompt=PROMPT, model="random-stable-audio-open", seconds=SOUND_SECONDS, seed=0)
    row = measure(report, clock, f"s1. --sound: {SOUND_SECONDS:g} s bed, {steps} steps",
                  lambda: make_track(pipe, sound, steps), runs, output_seconds=SOUND_SECONDS,
                  note=f"weights {params_gb(pipe, ('transformer', 'vae', 'text_encoder')):.1f} GiB")
    if make_row is not None and row.wall_per_output_s:
        row.note += f"; {row.wall_per_output_s / make_row.wall_per_output_s:.2f}x make's wall s per output s"
        report.save()
    pipe = None
    free_cache(device)


def _ratio(row: Any, baseline: float | None) -> None:
    if baseline and row.seconds:
        row.note += f"; {row.seconds / baseline:.2f}x LTX-Video row b"
