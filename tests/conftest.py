"""Shared fixtures. Tests never touch the network: the Hub is switched to offline mode before anything
imports huggingface_hub."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from pathlib import Path

import pytest


# --- tiny LTX model (shortgen.backends.tiny) -----------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight LTX pipeline, built once per session (about 3 s)."""
    from shortgen.backends.tiny import build_tiny_ltx

    return build_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx", seed=0)


# --- tiny LTX-2 and text-to-audio models (ltx2 branch) ------------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_ltx2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight LTX-2 pipeline (video + sound), built once per session."""
    from shortgen.backends.ltx2_tiny import build_tiny_ltx2

    return build_tiny_ltx2(tmp_path_factory.mktemp("models") / "tiny-ltx2", seed=0)


@pytest.fixture(scope="session")
def tiny_sound_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Stable Audio pipeline, built once per session."""
    from shortgen.soundgen.tiny import build_tiny_sound

    return build_tiny_sound(tmp_path_factory.mktemp("models") / "tiny-sound", seed=0)
