"""What a loaded diffusers pipeline needs whatever the model (LTX-Video, LTX-2): the pipeline itself, releasing
its text encoder once prompts are encoded, the seed's generator, and giving device memory back."""

from __future__ import annotations

import gc
from typing import Any

import torch


def seeded_generator(device: torch.device, seed: int) -> torch.Generator:
    """The generator a pipeline call draws its noise from. MPS generators have been unreliable; diffusers draws
    on the CPU and moves the noise over."""
    return torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(seed)


def free_device_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


class LoadedPipeline:
    """Shared by the backends: subclasses set ``_pipe`` (the diffusers pipeline) and ``_device``."""

    _pipe: Any
    _device: torch.device

    @property
    def pipeline(self) -> Any:
        return self._pipe

    def release_text_encoder(self) -> None:
        """Free the text encoder; prompts encoded before stay usable, new ones raise :class:`ModelError`."""
        if self._pipe.text_encoder is None:
            return
        self._pipe.text_encoder = None
        if getattr(self._pipe, "_all_hooks", None):
            self._pipe.enable_model_cpu_offload(device=self._device)  # rebuild the chain without the encoder
        self._free_memory()

    def _generator(self, seed: int) -> torch.Generator:
        return seeded_generator(self._pipe._execution_device, seed)

    def _free_memory(self) -> None:
        free_device_memory(self._device)
