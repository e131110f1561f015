"""The prompt-embedding cache both LTX backends share, on the tiny LTX pipeline's real T5 encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from shortgen.backends import LoadOptions, load_backend
from shortgen.backends.ltx import EMBEDDING_CACHE_SIZE, PromptEmbeddingCache
from shortgen.errors import ModelError


class Counting:
    """The real pipeline, counting the prompts it encodes."""

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.prompts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    def encode_prompt(self, **kwargs: Any) -> Any:
        self.prompts.append(kwargs["prompt"])
        return self.pipe.encode_prompt(**kwargs)


@pytest.fixture(scope="module")
def pipe(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir))).pipeline


def test_a_prompt_is_encoded_once_and_the_entry_is_what_the_pipeline_encodes(pipe: Any) -> None:
    counting = Counting(pipe)
    cache = PromptEmbeddingCache(counting)
    first = cache.get("a dog", "blurry", True, 64)
    assert cache.get("a dog", "blurry", True, 64) is first
    assert counting.prompts == ["a dog"]
    with torch.inference_mode():
        embeds, mask, neg_embeds, neg_mask = pipe.encode_prompt(
            prompt="a dog", negative_prompt="blurry", do_classifier_free_guidance=True, max_sequence_length=64)
    assert torch.equal(first["prompt_embeds"], embeds) and torch.equal(first["prompt_attention_mask"], mask)
    assert torch.equal(first["negative_prompt_embeds"], neg_embeds)
    assert torch.equal(first["negative_prompt_attention_mask"], neg_mask)
    assert embeds.shape[1] == 64


def test_key_is_prompt_negative_prompt_under_guidance_and_sequence_length(pipe: Any) -> None:
    counting = Counting(pipe)
    cache = PromptEmbeddingCache(counting)
    cache.get("a dog", "blurry", False, 64)
    assert cache.get("a dog", "noisy", False, 64)["negative_prompt_embeds"] is None  # unused without guidance
    cache.get("a dog", "blurry", True, 64)
    cache.get("a dog", "noisy", True, 64)
    cache.get("a dog", "noisy", True, 32)
    cache.get("a cat", "noisy", True, 32)
    assert counting.prompts == ["a dog"] * 4 + ["a cat"]
    assert cache.keys() == [("a dog", None, 64), ("a dog", "blurry", 64), ("a dog", "noisy", 64),
                            ("a dog", "noisy", 32), ("a cat", "noisy", 32)]


def test_the_least_recently_used_entry_is_evicted(pipe: Any) -> None:
    counting = Counting(pipe)
    cache = PromptEmbeddingCache(counting, size=2)
    cache.get("a", "", False, 16)
    cache.get("b", "", False, 16)
    cache.get("a", "", False, 16)  # a is now the most recent: c evicts b
    cache.get("c", "", False, 16)
    assert cache.keys() == [("a", None, 16), ("c", None, 16)] and len(cache) == 2
    cache.get("b", "", False, 16)
    assert counting.prompts == ["a", "b", "c", "b"]


def test_by_default_the_last_sixteen_prompts_are_kept(pipe: Any) -> None:
    cache = PromptEmbeddingCache(pipe)
    for n in range(EMBEDDING_CACHE_SIZE + 1):
        cache.get(f"prompt {n}", "", False, 8)
    assert EMBEDDING_CACHE_SIZE == 16 and len(cache) == 16
    assert cache.keys()[0] == ("prompt 1", None, 8)


def test_after_the_encoder_is_released_only_cached_prompts_work(tiny_model_dir: Path) -> None:
    released = load_backend("ltx", LoadOptions(model=str(tiny_model_dir))).pipeline
    cache = PromptEmbeddingCache(released)
    kept = cache.get("a dog", "", False, 16)
    released.text_encoder = None
    assert cache.get("a dog", "", False, 16) is kept
    with pytest.raises(ModelError, match="released"):
        cache.get("a cat", "", False, 16)
