"""The captions stage: burn styled captions into the frames and/or hand cues to the encoder as soft subtitles.

Spec dict (from :func:`shortgen.pipeline.post_stage_specs`)::

    {"key": "captions", "text": "Hello", "file": None, "spec": CaptionSpec, "safe_zone": SafeZone,
     "subtitles": "burn" | "soft" | "both"}

Cost: each distinct caption state (a cue, a highlighted word, a frame of a pop animation) is drawn once into
a small sprite, prepared once as a premultiplied :class:`~shortgen.overlay.Overlay` (RGB and yuv420p
planes), and blended per frame over the sprite's box only, onto RGB arrays or the yuv420p frames the
upscale stage emits. Frames are visited in time order, so a handful of cached states is enough
(:data:`CACHED_STATES`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.captions_io import Cue, caption_cue, fit_to_duration, load_cues, resolve_overlaps
from shortgen.config import CaptionSpec, SafeZone, validate_model
from shortgen.errors import UsageError
from shortgen.frames import Clip
from shortgen.stages.captions.fonts import FontSet
from shortgen.stages.captions.render import CaptionRenderer, Layout, Sprite, Zone
from shortgen.stages.captions.text import Token, cue_units, tokenize
from shortgen.stages.captions.timeline import StateKey, Timeline, pop_chunks, pop_scale

if TYPE_CHECKING:
    from shortgen.overlay import Overlay

SUBTITLE_MODES = ("burn", "soft", "both")
SOFT_SUBTITLES = "soft_subtitles"  # Clip.info key: the cues the encoder muxes as a mov_text track
WARNINGS = "warnings"  # Clip.info key: messages for Progress.warn
CACHED_STATES = 6


@dataclass
class CaptionStage:
    text: str | None = None
    file: str | Path | None = None
    spec: CaptionSpec | Mapping[str, Any] | None = None
    safe_zone: SafeZone | Mapping[str, Any] | None = None
    subtitles: str = "burn"
    key: str = "captions"
    _file_cues: list[Cue] = field(default_factory=list, repr=False)
    _fonts: FontSet | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.spec = _model(CaptionSpec, self.spec, "captions")
        self.safe_zone = _model(SafeZone, self.safe_zone, "safe_zone")
        if self.subtitles not in SUBTITLE_MODES:
            raise UsageError(f"unknown subtitles mode '{self.subtitles}'; available: {', '.join(SUBTITLE_MODES)}")
        if self.text is not None and self.file:
            raise UsageError("give --caption or --captions, not both")
        if self.text is None and not self.file:
            raise UsageError("the captions stage needs text or a captions file", "pass --caption or --captions")
        if self.text is not None:
            caption_cue(self.text, 1.0)  # validates now: empty text, control characters
        else:
            self._file_cues = load_cues(Path(self.file))
        if self.burn:
            self._fonts = FontSet.load(self.spec.font)

    @property
    def burn(self) -> bool:
        return self.subtitles in ("burn", "both")

    @property
    def soft(self) -> bool:
        return self.subtitles in ("soft", "both")

    def extra_frames(self, num_frames: int, fps: float) -> int:
        return 0

    def cues_for(self, duration: float) -> tuple[list[Cue], list[str]]:
        """The cues that show in a clip of ``duration`` seconds, and warnings about what was changed."""
        if self.text is not None:
            return [caption_cue(self.text, duration)], []
        name = Path(self.file).name
        cues, cut = resolve_overlaps(self._file_cues)
        cues, trimmed, dropped = fit_to_duration(cues, duration)
        warnings = []
        if cut:
            warnings.append(f"{name}: {cut} overlapping cue(s) cut short where the next cue starts")
        if trimmed or dropped:
            warnings.append(f"{name}: the clip ends at {duration:.2f} s; {trimmed} cue(s) trimmed, "
                            f"{dropped} cue(s) after the end dropped")
        if not cues:
            raise UsageError(f"every cue in {name} starts after the clip ends ({duration:.2f} s)",
                             "check that the captions file belongs to this clip")
        return cues, warnings

    def apply(self, clip: Clip) -> Clip:
        cues, warnings = self.cues_for(clip.duration)
        info = {**clip.info, "captions": {"cues": len(cues), "style": self.spec.style, "mode": self.subtitles,
                                          "file": str(self.file) if self.file else None}}
        if self.soft:
            info[SOFT_SUBTITLES] = cues
        frames: Iterable[Any] = clip.frames
        if self.burn:
            burner = CaptionBurner(cues, self.spec, Zone.inside(self.safe_zone, clip.width, clip.height),
                                   self._fonts or FontSet.load(self.spec.font), float(clip.fps))
            warnings += burner.warnings
            frames = burner.frames(clip.frames)
        info[WARNINGS] = [*clip.info.get(WARNINGS, []), *warnings]
        return clip.with_frames(frames, info=info)


class CaptionBurner:
    """Lays out every cue up front (so warnings come before encoding) and draws states on demand."""

    def __init__(self, cues: list[Cue], spec: CaptionSpec, zone: Zone, fonts: FontSet, fps: float) -> None:
        self.cues = cues
        self.spec = spec
        self.fps = fps
        self.renderer = CaptionRenderer(fonts, spec, zone)
        self.timeline = Timeline(cues, spec.style, fps)
        self.layouts: dict[tuple[int, int], Layout] = {}
        self._tokens = [tokenize(cue_units(cue), fonts) for cue in cues]
        self._sprites: OrderedDict[StateKey, tuple[Sprite, Overlay | None]] = OrderedDict()
        self.warnings = self._check_text(fonts)

    def _check_text(self, fonts: FontSet) -> list[str]:
        warnings = []
        missing = sorted({part.text for tokens in self._tokens for t in tokens for part in t.parts
                          if part.face is None and part.text.strip()})
        if missing:
            sample = "".join(missing)[:12]
            warnings.append(f"no caption font has glyphs for {sample!r}; they show as boxes "
                            "(pass --font with a font that covers them)")
        if not self.renderer.raqm and any(t.direction == "rtl" for tokens in self._tokens for t in tokens):
            warnings.append("right-to-left text cannot be shaped: this Pillow has no libraqm "
                            "(install Pillow wheels from PyPI, which include it)")
        return warnings

    def layout(self, key: StateKey) -> Layout:
        """The layout of a cue (highlight, clean, box) or of one pop chunk; fitted once and kept."""
        chunk = key.focus if self.spec.style == "pop" else -1
        if (key.cue, chunk) not in self.layouts:
            tokens = self._tokens[key.cue]
            if chunk >= 0:
                words = set(pop_chunks(cue_units(self.cues[key.cue]))[chunk])
                tokens = _chunk_tokens(tokens, words)
            self.layouts[(key.cue, chunk)] = self.renderer.fit(tokens)
        return self.layouts[(key.cue, chunk)]

    def sprite(self, key: StateKey) -> tuple[Sprite, Overlay | None]:
        if key in self._sprites:
            self._sprites.move_to_end(key)
            return self._sprites[key]
        layout = self.layout(key)
        active = key.focus if self.spec.style == "highlight" else None
        scale = pop_scale(key.step, self.timeline.pop_steps) if self.spec.style == "pop" else 1.0
        sprite = self.renderer.render(layout, active, scale)
        self._sprites[key] = (sprite, sprite.overlay())
        if len(self._sprites) > CACHED_STATES:
            self._sprites.popitem(last=False)
        return self._sprites[key]

    def frame_at(self, frame: Any, index: int) -> Any:
        """``frame`` (RGB array or yuv420p VideoFrame) with the caption state of frame ``index`` blended in."""
        key = self.timeline.state_at(index / self.fps)
        if key is None:
            return frame
        overlay = self.sprite(key)[1]
        return frame if overlay is None else overlay.blend(frame)

    def frames(self, frames: Iterable[Any]) -> Iterator[Any]:
        for index, frame in enumerate(frames):
            yield self.frame_at(frame, index)


def _chunk_tokens(tokens: list[Token], words: set[int]) -> list[Token]:
    from dataclasses import replace

    chosen = [t for t in tokens if t.words & words]
    return [replace(t, space_before=t.space_before and i > 0, break_before=False) for i, t in enumerate(chosen)]


def _model(model: type, value: Any, name: str) -> Any:
    if value is None:
        return model()
    if isinstance(value, model):
        return value
    return validate_model(model, value, name)


__all__ = ["SOFT_SUBTITLES", "WARNINGS", "CaptionBurner", "CaptionStage"]
