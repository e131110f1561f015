"""``--upscale latent``: what the plan needs to know about multiscale generation, without torch.

LTX-Video's own recipe for sharp output (diffusers' LTX docs for 0.9.7 / 0.9.8): generate at the preset's
generation size (pass 1), upsample the latents ×2 with the published spatial upsampler, then re-denoise a few
steps at twice the size (pass 2) with ``denoise_strength`` just under 1, and decode. Both passes must obey the
backend's size rule (multiples of 32: 544x960 → 1088x1920), so the plan checks both before any weights load;
the chain works at pass 2's size (conditions, overlaps, loops, colour matching), and the upscale stage then
crops / resizes exactly to the output (1088x1920 → 1080x1920).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shortgen.backends import get_backend_info, registered_backends
from shortgen.errors import UsageError

FACTOR = 2
# The recipe's pass-2 schedule; with denoise_strength 0.999 the pipeline runs its last four (909 ... 0).
REFINE_TIMESTEPS: tuple[float, ...] = (1000.0, 909.0, 725.0, 421.0, 0.0)
REFINE_STRENGTH = 0.999


@dataclass(frozen=True)
class Multiscale:
    """How each segment's two passes run; sent to the backend as ``SegmentRequest.extra["multiscale"]``."""

    width: int  # pass 1
    height: int
    refine_timesteps: tuple[float, ...] = REFINE_TIMESTEPS
    refine_strength: float = REFINE_STRENGTH
    adain_factor: float = 1.0  # LTXLatentUpsamplePipeline's options, as the recipe sets them
    tone_map_compression_ratio: float = 0.6

    @property
    def full_width(self) -> int:
        return self.width * FACTOR

    @property
    def full_height(self) -> int:
        return self.height * FACTOR

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "refine_timesteps": list(self.refine_timesteps)}


def plan_multiscale(backend: str, width: int, height: int, refine_strength: float | None = None) -> Multiscale:
    """Check that ``backend`` upsamples latents and that both passes fit its size rule; torch-free."""
    info = get_backend_info(backend)
    if not info.latent_upscale:
        able = [b.name for b in registered_backends() if b.latent_upscale]
        raise UsageError(f"the {backend} backend has no latent upsampler, so --upscale latent cannot run",
                         "use --upscale lanczos, bicubic, bilinear, area or model:PATH"
                         + (f", or a backend that has one ({', '.join(able)})" if able else ""))
    rules = info.rules
    for what, (w, h) in (("pass 1", (width, height)), ("pass 2", (width * FACTOR, height * FACTOR))):
        try:
            rules.check_size(w, h)
        except UsageError as err:
            raise UsageError(f"--upscale latent {what} ({w}x{h}): {err.message}", err.hint) from None
    return Multiscale(width, height, refine_strength=REFINE_STRENGTH if refine_strength is None else refine_strength)


def refine_steps(extra: dict[str, Any]) -> int:
    """Pass 2's denoising steps for a request's ``extra`` (diffusers keeps ``int(n · strength)`` of n timesteps)."""
    spec = extra.get("multiscale")
    if not spec:
        return 0
    count = len(spec["refine_timesteps"])
    return min(int(count * spec["refine_strength"]), count)
