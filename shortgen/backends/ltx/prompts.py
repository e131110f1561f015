"""The prompt-embedding cache LTX-Video and LTX-2 share: a prompt is encoded once, reused by every segment that
asks for it, and stays usable after the text encoder is released (see ``prepare_prompts``)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from shortgen.backends.ltx.tiny import quiet_hf_libraries
from shortgen.errors import ModelError

EMBEDDING_CACHE_SIZE = 16

Embeddings = dict[str, torch.Tensor | None]


class PromptEmbeddingCache:
    """The last ``size`` encodings made by ``pipe.encode_prompt``, the least recently used evicted first.

    Keyed by prompt, negative prompt (only when classifier-free guidance uses it) and maximum sequence length.
    """

    def __init__(self, pipe: Any, size: int = EMBEDDING_CACHE_SIZE) -> None:
        self._pipe = pipe
        self._size = size
        self._entries: OrderedDict[tuple[str, str | None, int], Embeddings] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[tuple[str, str | None, int]]:
        """Least recently used first."""
        return list(self._entries)

    def get(self, prompt: str, negative_prompt: str, cfg: bool, max_sequence_length: int) -> Embeddings:
        """The pipeline call's ``prompt_embeds``, ``prompt_attention_mask`` and negative counterparts."""
        key = (prompt, negative_prompt if cfg else None, int(max_sequence_length))
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        if self._pipe.text_encoder is None:
            raise ModelError("the text encoder was released before this prompt was encoded",
                             "call prepare_prompts() with every prompt before release_text_encoder()")
        with torch.inference_mode(), quiet_hf_libraries():
            embeds, mask, neg_embeds, neg_mask = self._pipe.encode_prompt(
                prompt=prompt, negative_prompt=negative_prompt, do_classifier_free_guidance=cfg,
                max_sequence_length=int(max_sequence_length), device=self._pipe._execution_device)
        entry = {"prompt_embeds": embeds, "prompt_attention_mask": mask,
                 "negative_prompt_embeds": neg_embeds, "negative_prompt_attention_mask": neg_mask}
        self._entries[key] = entry
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry
