"""``shortgen check``: each platform rule fails a file crafted to break it (naming rule, value and limit), and
every file shortgen's own encoder writes passes, incompressible noise at 1080x1920 included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from shortgen.config import MakeOptions, vbv_peak_kbps
from shortgen.errors import ConfigError
from shortgen.frames import Clip
from shortgen.pipeline import edit_clip, post_process
from shortgen.presets import load_preset
from shortgen.publish.check import CheckReport, RuleResult, check_file, peak_rate
from tests.publish_helpers import FPS, H, W, builtin_for_tests, craft, noise_frames, publish_preset

runner = CliRunner()


def checked(path: Path, preset: Path | str) -> CheckReport:
    return check_file(path, load_preset(str(preset)))


def rule(report: CheckReport, name: str) -> RuleResult:
    found = [r for r in report.rules if r.rule == name]
    assert found, f"no rule {name} in {[r.rule for r in report.rules]}"
    return found[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("check")


@pytest.fixture(scope="module")
def preset(folder: Path) -> Path:
    return publish_preset(folder)


def test_a_file_that_meets_every_rule_passes_all_of_them(folder: Path, preset: Path) -> None:
    report = checked(craft(folder / "good.mp4"), preset)
    assert report.ok and not report.warnings, [r.line() for r in report.rules]
    assert {r.rule for r in report.rules} == {
        "container", "moov_first", "edit_list", "video_codec", "profile", "pix_fmt", "size", "frame_rate",
        "duration", "bitrate_average", "bitrate_peak", "file_size", "keyframe_interval", "closed_gop",
        "audio_codec", "audio_sample_rate", "audio_channels", "colour", "loudness"}


OPEN_GOP = "keyint=15:min-keyint=15:scenecut=0:open-gop=1:bframes=3:b-adapt=0"
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    # (rule, craft arguments, preset overrides, status, value shown, limit shown)
    ("container", {"fmt": "matroska", "mux": {}, "suffix": ".mkv"}, {}, "fail", "matroska", "MP4"),
    ("moov_first", {"mux": {"use_editlist": "0"}}, {}, "fail", "mdat before moov", "moov before mdat"),
    ("edit_list", {"mux": {"movflags": "+faststart"}}, {}, "fail", "present", "none"),
    ("video_codec", {"codec": "mpeg4"}, {}, "fail", "mpeg4", "h264"),
    ("profile", {"options": {"profile": "baseline"}}, {"platform": {"video_profiles": ["high"]}}, "fail",
     "Baseline", "high"),
    ("pix_fmt", {"pix_fmt": "yuv444p"}, {}, "fail", "yuv444p", "yuv420p"),
    ("size", {"size": (80, 160)}, {}, "fail", "80x160", f"{W}x{H}"),
    ("size", {"size": (48, 80)}, {}, "warn", "48x80", f"{W}x{H}"),
    ("frame_rate", {"fps": 10}, {}, "fail", "10 fps", "constant, 23-60 fps"),
    ("frame_rate", {"times": [0, 0.03, 0.1, 0.12, 0.2, 0.3, 0.31, 0.4, 0.5, 0.6, 0.62, 0.7, 0.8, 0.9, 1.0, 1.1]},
     {}, "fail", "variable", "constant, 23-60 fps"),
    ("duration", {"seconds": 0.5}, {}, "fail", "0.5 s", "1-30 s"),
    ("bitrate_average", {"frames": "noise", "options": {"crf": "8"}}, {}, "fail", "kb/s", "<= 3000 kb/s"),
    ("bitrate_peak", {"frames": "noise", "options": {"crf": "8"}}, {}, "fail", "kb/s", "<= 3000 kb/s over any 1 s"),
    ("file_size", {}, {"encoder": {"max_size_mb": 0.01}}, "fail", "MB", "<= 0.01 MB"),
    ("keyframe_interval", {"seconds": 4, "x264": "keyint=90:min-keyint=90:scenecut=0"}, {}, "fail", "3 s",
     "<= 2 s"),
    ("closed_gop", {"x264": OPEN_GOP, "options": {"preset": "fast"}}, {}, "fail", "open GOP", "closed"),
    ("audio_codec", {"audio": ("ac3", 48000, "stereo")}, {}, "fail", "ac3", "aac"),
    ("audio_sample_rate", {"audio": ("aac", 44100, "stereo")}, {}, "fail", "44100 Hz", "48000 Hz"),
    ("audio_channels", {"audio": ("aac", 48000, "5.1")}, {}, "fail", "6", "1-2"),
    ("audio", {"audio": None}, {}, "warn", "no audio track", "one AAC track"),
    ("colour", {"colour": False}, {}, "warn", "unspecified", "tv/bt709/bt709/bt709"),
    ("loudness", {"tone": 0.9, "seconds": 3}, {}, "warn", "LUFS", "-14 ± 1 LUFS"),
    ("loudness", {"tone": 0.02, "seconds": 3}, {}, "warn", "LUFS", "-14 ± 1 LUFS"),
    ("colour", {"colour": False, "x264": "keyint=30:colorprim=bt2020:transfer=bt709:colormatrix=bt2020nc"}, {},
     "fail", "bt2020", "tv/bt709/bt709/bt709"),
]


@pytest.mark.parametrize(("name", "make", "overrides", "status", "value", "limit"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_catches_a_file_crafted_to_break_it(folder: Path, name: str, make: dict[str, Any],
                                                      overrides: dict[str, Any], status: str, value: str,
                                                      limit: str) -> None:
    make = dict(make)
    suffix = make.pop("suffix", ".mp4")
    if make.get("frames") == "noise":
        make["frames"] = noise_frames(round(2 * FPS))
    path = craft(folder / f"{name}-{abs(hash(repr(make))) % 10**8}{suffix}", **make)
    preset = publish_preset(folder, f"p{abs(hash(repr(overrides))) % 10**8}", **overrides) if overrides else \
        publish_preset(folder)
    report = checked(path, preset)
    found = rule(report, name)
    assert found.status == status, found.line()
    line = found.line()
    assert line.startswith(f"{status:<4}  {name}: ") and value in line and f"(limit: {limit}" in line, line
    assert report.ok is (status != "fail")
    if status == "fail":
        assert name in report.summary() and limit in report.summary()


def test_peak_rate_is_the_busiest_window() -> None:
    timed = [(0.0, 1000), (0.5, 1000), (1.0, 5000), (1.2, 5000), (2.5, 1000)]
    rate, at = peak_rate(timed, 1.0)
    assert rate == pytest.approx(11000 * 8 / 1000) and at == 0.5  # 0.5, 1.0 and 1.2 lie in [0.5, 1.5)


# ---------------------------------------------------------------------------------------- the command


def test_check_command_prints_one_line_per_rule_and_exits_1_on_a_failure(folder: Path, preset: Path) -> None:
    good, bad = craft(folder / "cli-good.mp4"), craft(folder / "cli-bad.mp4", fps=10)
    result = runner.invoke(app, ["check", str(good), str(bad), "--preset", str(preset), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and [f["ok"] for f in data["files"]] == [True, False]
    assert data["files"][1]["failed"] == ["frame_rate"]
    failed = next(r for r in data["files"][1]["rules"] if r["rule"] == "frame_rate")
    assert failed["value"] == 10 and failed["limit"] == "constant, 23-60 fps" and failed["status"] == "fail"
    human = runner.invoke(app, ["check", str(good), "--preset", str(preset)])
    assert human.exit_code == 0 and "pass  bitrate_peak:" in human.stderr


def test_strict_check_fails_on_warnings(folder: Path, preset: Path) -> None:
    quiet = craft(folder / "silent.mp4", audio=None)
    assert runner.invoke(app, ["check", str(quiet), "--preset", str(preset)]).exit_code == 0
    assert runner.invoke(app, ["check", str(quiet), "--preset", str(preset), "--strict"]).exit_code == 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (["README.md"], 1, "is not a video"),
    (["missing.mp4"], 2, "does not exist"),
    (["{good}", "--preset", "nope"], 2, "unknown preset 'nope'"),
])
def test_check_errors_are_one_line(folder: Path, args: list[str], code: int, message: str) -> None:
    good = craft(folder / "err-good.mp4")
    readme = Path(__file__).parents[1] / "README.md"
    args = [str(readme) if a == "README.md" else str(good) if a == "{good}" else a for a in args]
    result = runner.invoke(app, ["check", *args])
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


# ------------------------------------------------------------------------------ presets and our encodes


@pytest.mark.parametrize("name", ["tiktok", "reels", "shorts"])
def test_builtin_presets_vbv_holds_the_platform_cap(name: str) -> None:
    preset = load_preset(name)
    cap = preset.platform.max_bitrate_kbps
    assert cap is not None and vbv_peak_kbps(preset.encoder, preset.platform.peak_window_seconds) <= cap


def test_a_preset_whose_vbv_can_exceed_its_cap_is_refused(tmp_path: Path) -> None:
    path = publish_preset(tmp_path, encoder={"max_bitrate_kbps": 3000, "bufsize_kbps": 6000})
    with pytest.raises(ConfigError, match="can exceed the platform's 3000 kb/s cap"):
        load_preset(str(path))


def test_noise_through_our_encoder_stays_under_the_cap(folder: Path, preset: Path) -> None:
    """At test size: incompressible frames, 3 s; the x264 VBV settings must hold average and peak."""
    out = folder / "noise-small.mp4"
    result = post_process(Clip(W, H, __import__("fractions").Fraction(FPS), 3 * FPS, noise_frames(3 * FPS)),
                          MakeOptions(preset=str(preset)), out, overwrite=True)
    assert result.check is not None and result.check["ok"], result.check
    peak = next(r for r in result.check["rules"] if r["rule"] == "bitrate_peak")
    assert 1500 < peak["value"] <= 3000  # the cap binds (noise wants far more), and holds


@pytest.mark.parametrize("name", ["shorts",  # the tightest cap runs by default; each takes 12-17 s here
                                  pytest.param("tiktok", marks=pytest.mark.slow),
                                  pytest.param("reels", marks=pytest.mark.slow)])
def test_full_size_noise_passes_every_builtin_preset(tmp_path: Path, name: str) -> None:
    """Random frames at 1080x1920 (the worst case for the bitrate cap) through post_process; the preset's
    duration range is widened to fit a 2 s test clip, every other rule is the built-in's."""
    from fractions import Fraction

    preset = builtin_for_tests(tmp_path, name, duration={"default": 2, "min": 1})
    out = tmp_path / f"{name}.mp4"
    result = post_process(Clip(1080, 1920, Fraction(30), 60, noise_frames(60, 1080, 1920)),
                          MakeOptions(preset=str(preset)), out)
    assert result.check is not None and result.check["ok"], [r for r in result.check["rules"]
                                                             if r["status"] != "pass"]
    assert checked(out, preset).ok  # the file on disk, checked again from outside
    peak = next(r for r in result.check["rules"] if r["rule"] == "bitrate_peak")
    print(f"{name}: noise peak {peak['value']} kb/s, cap {peak['limit']}")


def test_edit_converts_a_constant_frame_rate_and_trims(folder: Path, preset: Path) -> None:
    source = craft(folder / "ten-fps.mp4", fps=10, seconds=3)
    out = folder / "thirty.mp4"
    result = edit_clip(source, MakeOptions(preset=str(preset), trim="0.5:2.5"), out, overwrite=True,
                       write_sidecar=False)
    assert result.fps == 30 and result.frames == 60 and result.check["ok"], result.check
    assert rule(checked(out, preset), "frame_rate").value == 30
    from tests.helpers import decode_frames

    assert len(decode_frames(out)) == 60


def test_edit_warns_on_a_duration_outside_the_range_and_strict_writes_nothing(folder: Path, preset: Path) -> None:
    source = craft(folder / "short.mp4", seconds=0.6)
    out = folder / "short-out.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(out), "--overwrite"])
    assert result.exit_code == 0
    assert "outside the pub preset's 1-30 s" in result.stderr and "--trim" in result.stderr
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["result"]["check"]["ok"] is False and sidecar["result"]["check"]["failed"] == ["duration"]
    assert sidecar["result"]["credentials"] == {"signed": False}
    out.unlink()
    out.with_suffix(".json").unlink()
    strict = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(out), "--strict"])
    assert strict.exit_code == 1 and not out.exists()
    assert "fails the pub preset's platform check: duration: 0.6 s (limit: 1-30 s)" in strict.stderr
    assert not [p for p in folder.iterdir() if ".partial-" in p.name]


def test_edit_duration_keeps_the_first_seconds(folder: Path, preset: Path) -> None:
    source = craft(folder / "long.mp4", seconds=3)
    out = folder / "cut.mp4"
    result = edit_clip(source, MakeOptions(preset=str(preset), duration=1.5), out, overwrite=True,
                       write_sidecar=False)
    assert result.frames == 45 and result.check["ok"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shorts", "reels"])
def test_make_and_edit_with_builtin_presets_pass_their_check(tmp_path: Path, tiny_model_dir: Path,
                                                              name: str) -> None:
    """Full size, full minimum length: make (the tiny model, 10 s), and edit of a 10 fps phone-sized clip."""
    made = tmp_path / "made.mp4"
    result = runner.invoke(app, ["make", "a red fox", "--model", str(tiny_model_dir), "--gen-size", "96x160",
                                 "--duration", "10", "--preset", name, "-o", str(made), "--strict"])
    assert result.exit_code == 0, result.stderr
    assert checked(made, name).ok
    source = craft(tmp_path / "phone.mp4", fps=10, seconds=11, size=(180, 320))
    edited = tmp_path / "edited.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", name, "-o", str(edited), "--strict"])
    assert result.exit_code == 0, result.stderr
    assert "converted to 30 fps" in result.stderr
    report = checked(edited, name)
    assert report.ok and rule(report, "frame_rate").value == 30


def test_edit_fps_converts_a_constant_rate_source(folder: Path, preset: Path) -> None:
    source = craft(folder / "thirty-fps.mp4", fps=30, seconds=2)
    out = folder / "twentyfour.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "--fps", "24", "-o", str(out),
                                 "--overwrite", "--json"])
    assert result.exit_code == 0, result.stderr
    assert "is 30 fps; converted to 24 fps" in result.stderr
    data = json.loads(result.stdout)
    assert data["fps"] == 24 and data["frames"] == 48
    assert rule(checked(out, preset), "frame_rate").value == 24


def test_edit_brings_a_loud_source_to_the_loudness_target(folder: Path, preset: Path) -> None:
    source = craft(folder / "loud.mp4", seconds=3, tone=0.9)
    assert rule(checked(source, preset), "loudness").status == "warn"
    out = folder / "normalised.mp4"
    result = edit_clip(source, MakeOptions(preset=str(preset)), out, overwrite=True, write_sidecar=False)
    found = next(r for r in result.check["rules"] if r["rule"] == "loudness")
    assert found["status"] == "pass" and abs(found["value"] + 14) <= 1, found
