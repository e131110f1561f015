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
