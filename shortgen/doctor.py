"""What works on this machine: device, versions, encoders, model cache. Each problem comes with a fix."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from typing import Any

from shortgen.metadata import package_versions


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_packages() -> list[Check]:
    versions = package_versions()
    checks = []
    for name in ("torch", "diffusers", "transformers", "av"):
        version = versions.get(name)
        checks.append(Check(f"package {name}", version is not None, version or "not installed",
                            "" if version else f"pip install {name} (see README: install torch first)"))
    return checks


def check_device() -> list[Check]:
    if importlib.util.find_spec("torch") is None:
        return [Check("device", False, "torch missing", "pip install torch==2.13.0 (CPU) or a CUDA build")]
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        free, total = torch.cuda.mem_get_info()
        detail = f"cuda: {name}, {free / 2**30:.1f} of {total / 2**30:.1f} GiB free, bf16"
        fix = "" if total >= 20 * 2**30 else "under 20 GiB: use --low-memory"
        return [Check("device", True, detail, fix)]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return [Check("device", True, "mps (Apple GPU)")]
    return [Check("device", True, f"cpu only ({os.cpu_count()} cores): real models will be very slow",
                  "use a CUDA GPU for real models; the tiny model works here")]


def check_encoders() -> list[Check]:
    try:
        import av
    except ImportError:
        return [Check("encoders", False, "PyAV missing", "pip install av")]
    wanted = {"libx264": "H.264 video", "aac": "AAC audio", "mov_text": "soft subtitles"}
    return [Check(f"encoder {name}", name in av.codecs_available, what,
                  "" if name in av.codecs_available else "reinstall PyAV from its wheels (pip install av)")
            for name, what in wanted.items()]


def check_model_cache(model_hint: str = "ltx") -> list[Check]:
    if importlib.util.find_spec("huggingface_hub") is None:
        return [Check("model cache", False, "huggingface_hub missing", "pip install diffusers")]
    from huggingface_hub import constants, scan_cache_dir

    location = constants.HF_HUB_CACHE
    offline = constants.HF_HUB_OFFLINE
    try:
        repos = [r for r in scan_cache_dir(location).repos if model_hint.lower() in r.repo_id.lower()]
    except Exception:
        repos = []
    cached = ", ".join(f"{r.repo_id} ({r.size_on_disk / 2**30:.1f} GiB)" for r in repos) or "no LTX models"
    checks = [Check("model cache", True, f"{location}: {cached}",
                    "" if repos else "hf download Lightricks/LTX-Video-0.9.8-13B-distilled (needs network)")]
    checks.append(Check("hub access", True, "offline (HF_HUB_OFFLINE=1)" if offline else "online allowed"))
    return checks


def run_checks() -> list[Check]:
    return [*check_packages(), *check_device(), *check_encoders(), *check_model_cache()]


def checks_to_dict(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}
