"""``check``: does a file meet the rules of the platform its preset targets?

Every rule reads :class:`~shortgen.publish.measure.Measurements` (one demux pass, nothing decoded) and the
preset, and answers pass / warn / fail with the measured value and the limit. Rules are plain functions in
:data:`RULES`; a new measurement becomes one more function there (loudness reads the preset's ``audio``
target and is measured by :mod:`shortgen.audio`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from shortgen.config import Preset
from shortgen.media import is_variable_rate
from shortgen.publish.measure import Measurements, measure

Status = Literal["pass", "warn", "fail"]
# Timestamps are rounded to the stream's time base; a frame's worth of slack would hide real faults.
TIME_SLACK = 0.002
LOUDNESS_TOLERANCE_LU = 1.0  # EBU R128 allows ±1 LU where a programme cannot be measured ahead (live)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    status: Status
    value: Any
    limit: str
    detail: str = ""
    unit: str = ""

    def line(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        value = f"{value} {self.unit}" if self.unit else value
        text = f"{self.status:<4}  {self.rule}: {value} (limit: {self.limit})"
        return f"{text}; {self.detail}" if self.detail else text


@dataclass
class CheckReport:
    path: str
    preset: str
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if r.status == "fail"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.rules if r.status == "warn"]

    def summary(self) -> str:
        """``"ok"`` or the failed rules, e.g. ``"fail: bitrate_peak 10843 kb/s (limit <= 10000 kb/s ...)"``."""
        if self.ok:
            return "ok" if not self.warnings else f"ok with {len(self.warnings)} warning(s)"
        return "fail: " + "; ".join(r.line().removeprefix("fail  ") for r in self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "preset": self.preset, "ok": self.ok,
                "failed": [r.rule for r in self.failed], "warnings": [r.rule for r in self.warnings],
                "rules": [asdict(r) for r in self.rules]}


Rule = Callable[[Measurements, Preset], Iterable[RuleResult]]


def _verdict(ok: bool, *, warn: bool = False) -> Status:
    return "pass" if ok else ("warn" if warn else "fail")


def _kbps(value: float) -> float:
    return round(value, 1)


# ------------------------------------------------------------------------------------------ rules


def container_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    is_mp4 = "mp4" in m.container.split(",") and m.faststart is not None
    yield RuleResult("container", _verdict(is_mp4), "mp4" if is_mp4 else m.container, "MP4 (moov and mdat boxes)")
    if m.faststart is not None:
        yield RuleResult("moov_first", _verdict(m.faststart), "moov before mdat" if m.faststart
                         else "mdat before moov", "moov before mdat (faststart)")
        if not preset.platform.edit_list_allowed:
            yield RuleResult("edit_list", _verdict(not m.edit_list), "present" if m.edit_list else "none", "none")


def video_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    platform, encoder, output = preset.platform, preset.encoder, preset.output
    yield RuleResult("video_codec", _verdict(m.codec in platform.video_codecs), m.codec,
                     " or ".join(platform.video_codecs))
    profile = (m.profile or "unknown").lower()
    yield RuleResult("profile", _verdict(profile in platform.video_profiles), m.profile or "unknown",
                     " or ".join(platform.video_profiles))
    yield RuleResult("pix_fmt", _verdict(m.pix_fmt == encoder.pix_fmt), m.pix_fmt or "unknown", encoder.pix_fmt)
    want = f"{output.width}x{output.height}"
    same_shape = m.width * output.height == m.height * output.width
    yield RuleResult("size", "pass" if (m.width, m.height) == (output.width, output.height)
                     else _verdict(False, warn=same_shape), f"{m.width}x{m.height}", want,
                     "" if not same_shape or want == f"{m.width}x{m.height}" else "same shape, another size")


def frame_rate_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    platform = preset.platform
    times = sorted(p.pts for p in m.video)
    variable = is_variable_rate(times)
    fps = 1 / m.frame_step if m.frame_step > 0 else 0.0
    limit = f"constant, {platform.fps_min:g}-{platform.fps_max:g} fps"
    if variable:
        steps = m.frame_steps
        yield RuleResult("frame_rate", "fail", f"variable ({1 / max(steps):.3g}-{1 / min(steps):.3g} fps)", limit,
                         "re-encode at a constant rate: shortgen edit --fps N")
        return
    inside = platform.fps_min - 0.01 <= fps <= platform.fps_max + 0.01
    detail = "" if not inside or abs(fps - preset.output.fps) < 0.01 else f"the preset makes {preset.output.fps} fps"
    yield RuleResult("frame_rate", _verdict(inside), round(fps, 3), limit, detail, unit="fps")


def duration_rule(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    spec = preset.duration
    seconds = round(m.duration, 3)
    ok = spec.min - TIME_SLACK <= seconds <= spec.max + TIME_SLACK
    yield RuleResult("duration", _verdict(ok), seconds, f"{spec.min:g}-{spec.max:g} s",
                     "" if ok else "conform it: shortgen edit --trim START:END or --duration S", unit="s")


def bitrate_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    cap = preset.platform.max_bitrate_kbps
    if cap is None:
        return
    timed = m.timed_bytes()
    duration = max(m.duration, 1e-6)
    average = sum(size for _, size in timed) * 8 / duration / 1000
    yield RuleResult("bitrate_average", _verdict(average <= cap), _kbps(average), f"<= {cap} kb/s", unit="kb/s")
    window = min(preset.platform.peak_window_seconds, duration)
    peak, at = peak_rate(timed, window)
    yield RuleResult("bitrate_peak", _verdict(peak <= cap), _kbps(peak),
                     f"<= {cap} kb/s over any {window:g} s", f"highest from {at:.2f} s", unit="kb/s")


def peak_rate(timed: list[tuple[float, int]], window: float) -> tuple[float, float]:
    """The highest rate in kb/s over any ``window`` seconds of (time, bytes) items sorted by time, and where."""
    best, best_at, total, end = 0, 0.0, 0, 0
    for start, (t0, _) in enumerate(timed):
        while end < len(timed) and timed[end][0] < t0 + window - 1e-9:
            total += timed[end][1]
            end += 1
        if total > best:
            best, best_at = total, t0
        total -= timed[start][1]
    return best * 8 / window / 1000, best_at


def file_size_rule(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    cap = preset.encoder.max_size_mb
    if cap is not None:
        size = round(m.size_bytes / 1e6, 2)
        yield RuleResult("file_size", _verdict(size <= cap), size, f"<= {cap:g} MB", unit="MB")


def gop_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    platform = preset.platform
    keys = sorted(p.pts for p in m.video if p.key)
    first = min(p.pts for p in m.video)
    if not keys or keys[0] > first + TIME_SLACK:
        yield RuleResult("keyframe_interval", "fail", "no keyframe at the start",
                         f"<= {platform.max_keyframe_seconds:g} s")
    else:
        ends = [*keys[1:], first + m.duration]
        gap = max(b - a for a, b in zip(keys, ends, strict=True))
        yield RuleResult("keyframe_interval", _verdict(gap <= platform.max_keyframe_seconds + TIME_SLACK),
                         round(gap, 3), f"<= {platform.max_keyframe_seconds:g} s", unit="s")
    if platform.closed_gop:
        open_at = open_gop_times(m)
        yield RuleResult("closed_gop", _verdict(not open_at),
                         "closed" if not open_at else f"{len(open_at)} open GOP(s)",
                         "closed (every keyframe an IDR, no frame shown before it decoded after it)",
                         f"first at {open_at[0]:.2f} s" if open_at else "")


def open_gop_times(m: Measurements) -> list[float]:
    """Keyframes that start an open GOP: not an IDR, or followed in decode order by a frame shown before them."""
    found: list[float] = []
    current: float | None = None
    for packet in m.video:  # decode order
        if packet.key:
            current = packet.pts
            if not packet.leading_ok:
                found.append(packet.pts)
        elif current is not None and packet.pts < current - 1e-9 and (not found or found[-1] != current):
            found.append(current)
    return found


def audio_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    platform = preset.platform
    if not m.audio:
        yield RuleResult("audio", "warn", "no audio track", "one AAC track",
                         "some apps refuse or mute such uploads; shortgen make/edit always add one")
        return
    track = m.audio[0]
    yield RuleResult("audio_codec", _verdict(track.codec in platform.audio_codecs), track.codec,
                     " or ".join(platform.audio_codecs))
    rates = " or ".join(f"{r} Hz" for r in platform.audio_sample_rates)
    yield RuleResult("audio_sample_rate", _verdict(track.sample_rate in platform.audio_sample_rates),
                     f"{track.sample_rate} Hz", rates)
    yield RuleResult("audio_channels", _verdict(1 <= track.channels <= platform.max_audio_channels), track.channels,
                     f"1-{platform.max_audio_channels}")


def colour_rule(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    want = {"range": "tv", "matrix": "bt709", "primaries": "bt709", "transfer": "bt709"}
    tags = "/".join(m.colour[k] or "unspecified" for k in want)
    wrong = [k for k, v in want.items() if m.colour[k] not in (None, v)]
    missing = [k for k in want if m.colour[k] is None]
    status: Status = "fail" if wrong else ("warn" if missing else "pass")
    detail = f"not SDR BT.709: {', '.join(wrong)}" if wrong else (
        f"untagged {', '.join(missing)}: players guess" if missing else "")
    yield RuleResult("colour", status, tags, "/".join(want.values()), detail)


def loudness_rules(m: Measurements, preset: Preset) -> Iterable[RuleResult]:
    """Integrated loudness and true peak of the first audio track (EBU R128, FFmpeg's ebur128 through
    shortgen.audio) against the preset's sound target. A warning, not a failure: the platforms turn loud clips
    down (and quiet ones are simply quiet), they do not refuse them. This rule decodes the audio (~0.5 s for
    30 s of sound); every other rule only demuxes."""
    sound = preset.audio
    if not m.audio or not sound.normalize:
        return
    from shortgen.audio.loudness import measure_file

    measured, _ = measure_file(m.path)
    target = f"{sound.loudness_lufs:g} ± {LOUDNESS_TOLERANCE_LU:g} LUFS"
    if measured.integrated_lufs is None:
        yield RuleResult("loudness", "pass", "silent", target, "nothing above EBU R128's absolute gate")
        return
    lufs = round(measured.integrated_lufs, 1)
    yield RuleResult("loudness", _verdict(abs(lufs - sound.loudness_lufs) <= LOUDNESS_TOLERANCE_LU, warn=True),
                     lufs, target, unit="LUFS")
    if measured.true_peak_db is not None:
        peak = round(measured.true_peak_db, 1)
        yield RuleResult("true_peak", _verdict(peak <= sound.true_peak_db + 0.05, warn=True), peak,
                         f"<= {sound.true_peak_db:g} dBTP", unit="dBTP")


RULES: tuple[Rule, ...] = (container_rules, video_rules, frame_rate_rules, duration_rule, bitrate_rules,
                           file_size_rule, gop_rules, audio_rules, colour_rule, loudness_rules)


def check_file(path: Path, preset: Preset) -> CheckReport:
    """Measure ``path`` and hold it to ``preset``'s rules."""
    measured = measure(Path(path))
    report = CheckReport(str(path), preset.name)
    for rule in RULES:
        report.rules.extend(rule(measured, preset))
    return report


__all__ = ["RULES", "CheckReport", "RuleResult", "check_file", "peak_rate"]
