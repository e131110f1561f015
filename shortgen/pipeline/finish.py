"""The step every route ends in: frames through the post stages into the encoder, the publish check (and
signature), then the clip, its ``.srt`` and its sidecar renamed into place together (:class:`ClipResult`)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.backends import GeneratorBackend
from shortgen.config import MakeOptions, Preset
from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.pipeline.plan import MakePlan, build_post_stages, resolve_preset
from shortgen.progress import Progress
from shortgen.stages import Stage
from shortgen.timing import Timings

if TYPE_CHECKING:
    from shortgen.publish.finish import Publish


@dataclass
class ClipResult:
    output: Path
    sidecar: Path | None
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    seed: int | None
    size_bytes: int
    timings: dict[str, float]
    plan: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] | None = None  # publish: the platform check of the written file
    credentials: dict[str, Any] | None = None  # publish: {"signed": bool, signer, ...}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        data["sidecar"] = str(self.sidecar) if self.sidecar else None
        return data


def post_process(clip: Clip, options: MakeOptions, output: Path, *, overwrite: bool = False,
                 progress: Progress | None = None) -> ClipResult:
    """Run the post stages and the encoder on any clip (frames from memory, a file, a generator)."""
    from shortgen.encode import encode_clip
    from shortgen.publish.finish import publish_settings

    preset = resolve_preset(options)
    stages = build_post_stages(preset, options)
    if options.sign:
        raise UsageError("post_process cannot sign: it does not know where the frames came from",
                         "sign with make_clip or edit_clip")
    return finish_clip(clip, stages, output, preset, overwrite, progress or Progress(), Timings(), False, None,
                       encode_clip, seed=None, plan=None, backend=None, publish=publish_settings(options))


def finish_clip(clip: Clip, stages: list[Stage], output: Path, preset: Preset, overwrite: bool,
                progress: Progress, timings: Timings, write_sidecar: bool, write_meta: Any, encode_clip: Any,
                *, seed: int | None, plan: MakePlan | None, backend: GeneratorBackend | None,
                source: Path | None = None, publish: Publish | None = None) -> ClipResult:
    """Encode the clip and write its ``.srt`` and sidecar to temp names, then rename them into place
    together: a failure at any step (or a signal) leaves none of them, and no temp file."""
    from shortgen.atomic import staged_outputs, write_text
    from shortgen.metadata import sidecar_path
    from shortgen.publish.finish import Publish, publish_file
    from shortgen.subtitles import check_srt_path, srt_text

    for stage in stages:
        clip = stage.apply(clip)
        clip = clip.with_frames(timings.timed(stage.key, clip.frames))
    info = dict(clip.info)
    for message in info.get("warnings", []):  # stages report what they changed (e.g. captions trimmed)
        progress.warn(message)
    soft_cues = info.pop("soft_subtitles", None)  # the captions stage's cues for a mov_text track + .srt
    srt = check_srt_path(output, overwrite, info.get("captions", {}).get("file")) if soft_cues else None
    with staged_outputs(overwrite=overwrite) as staged:
        staged_clip = staged.add(output)
        before_encode = time.perf_counter()
        encoded = encode_clip(clip, staged_clip, preset.encoder, overwrite=True, progress=progress,
                              subtitles=soft_cues)
        upstream = timings.inclusive[timings.order[-1]] if timings.order else 0.0
        timings.add("encode", time.perf_counter() - before_encode - upstream)
        check, credentials = publish_file(staged_clip, output, preset=preset, publish=publish or Publish(),
                                          progress=progress)  # publish: check, then sign, before the commit
        # What stages learned while the frames streamed (the loop's seam score; damaged source frames replaced).
        late_warnings = list(clip.facts.get("warnings", {}).values())
        for message in late_warnings:
            progress.warn(message)
        info.update({k: v for k, v in clip.facts.items() if k != "warnings"})
        if late_warnings:
            info["warnings"] = [*info.get("warnings", []), *late_warnings]
        if "seam_score" in info:
            _measure_encoded_seam(staged_clip, info, timings)
        result = ClipResult(
            output=output, sidecar=None, width=clip.width, height=clip.height, fps=float(clip.fps),
            frames=encoded.frames, duration=encoded.duration, seed=seed, size_bytes=staged_clip.stat().st_size,
            timings=timings.exclusive(), plan=plan.to_dict() if plan else None, info=info,
            check=check, credentials=credentials,
        )
        if srt is not None:
            write_text(staged.add(srt), srt_text(soft_cues), shown_as=srt)
            info["subtitles_file"] = str(srt)
        if write_sidecar:
            side = sidecar_path(output)
            write_meta(result, preset=preset, plan=plan, backend=backend, source=source, path=staged.add(side))
            result.sidecar = side
        staged.commit()
    return result


def _measure_encoded_seam(path: Path, info: dict[str, Any], timings: Timings) -> None:
    """The seam score of the file as encoded, measured as ``shortgen inspect`` measures it, so the sidecar
    and inspect agree; the score of the frames before upscale, captions and encoding is kept beside it."""
    from shortgen.inspect import measure_seam

    started = time.perf_counter()
    _, score = measure_seam(path)
    timings.add("seam", time.perf_counter() - started)
    info["seam_score_before_encode"] = info["seam_score"]
    info["seam_score"] = None if score is None else round(score, 4)
