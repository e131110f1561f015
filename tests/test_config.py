from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortgen.config import MakeOptions, layered_options, merge_layers, parse_size
from shortgen.errors import ConfigError, UsageError
from shortgen.pipeline import resolve_preset
from shortgen.presets import available_presets, load_preset

PLATFORMS = ("tiktok", "reels", "shorts")


@pytest.mark.parametrize("name", PLATFORMS)
def test_builtin_presets_are_vertical_platform_presets(name: str) -> None:
    preset = load_preset(name)
    assert (preset.output.width, preset.output.height) == (1080, 1920)
    assert preset.duration.default == 15 and (preset.duration.min, preset.duration.max) == (10, 30)
    gen = preset.generation
    assert gen.width % 32 == 0 and gen.height % 32 == 0
    assert abs(gen.width / gen.height - 9 / 16) < 0.02
    enc = preset.encoder
    assert (enc.profile, enc.pix_fmt, enc.closed_gop, enc.audio_sample_rate) == ("high", "yuv420p", True, 48000)
    zone = preset.safe_zone
    assert zone.left + zone.right < 1080 and zone.top + zone.bottom < 1920


def test_presets_are_listed() -> None:
    assert {s.name for s in available_presets()} >= set(PLATFORMS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "output: {width: 1080, height: 1920, fsp: 30}\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: unknown key 'output\.fsp'"):
        load_preset(str(path))


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "duration: {default: soon}\n")
    with pytest.raises(ConfigError, match=r"'duration\.default'.*'soon'"):
        load_preset(str(path))


def test_bad_choice_lists_allowed_values(tmp_path: Path) -> None:
    path = write(tmp_path, "captions: {style: fancy}\n")
    with pytest.raises(ConfigError, match=r"'captions\.style' is 'fancy'; allowed: 'clean', 'box', 'highlight'"):
        load_preset(str(path))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "output:\n  width: [1080\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml line \d+"):
        load_preset(str(path))


def test_user_preset_dir_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTGEN_PRESETS_DIR", str(tmp_path))
    (tmp_path / "mine.yaml").write_text("description: my own\noutput: {fps: 24}\n", encoding="utf-8")
    preset = load_preset("mine")
    assert preset.output.fps == 24 and preset.description == "my own"


def test_unknown_preset_lists_available() -> None:
    with pytest.raises(UsageError, match=r"unknown preset 'nope'; available: .*tiktok"):
        load_preset("nope")


def test_precedence_cli_over_job_over_preset_over_default(tmp_path: Path) -> None:
    path = write(tmp_path, "generation: {steps: 6}\nencoder: {crf: 23}\n")
    job = MakeOptions(preset=str(path), steps=4, crf=None)
    cli = MakeOptions(steps=3)
    preset = resolve_preset(layered_options(job, cli))
    assert preset.generation.steps == 3  # CLI flag wins over the job file
    assert preset.encoder.crf == 23  # preset value where neither sets it
    assert preset.encoder.bframes == 2  # built-in default where nobody sets it
    assert resolve_preset(job).generation.steps == 4  # job file wins over the preset


def test_merge_layers_ignores_unset_values() -> None:
    assert merge_layers({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "c": 3}}) == {"a": {"b": 1, "c": 3}}


@given(st.integers(1, 9999), st.integers(1, 9999), st.sampled_from(["x", "X", "×"]))
def test_parse_size_roundtrip(w: int, h: int, sep: str) -> None:
    assert parse_size(f"{w}{sep}{h}") == (w, h)


@given(st.text(max_size=12).filter(lambda s: "x" not in s.lower() and "×" not in s))
def test_parse_size_rejects_garbage(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_size(text)


def test_options_built_in_python_are_range_checked_when_a_library_call_starts() -> None:
    from shortgen.config import MakeOptions, replace
    from shortgen.pipeline import plan_make

    options = MakeOptions(prompt="a fox", crf=99)  # msgspec does not check ranges on construction...
    with pytest.raises(ConfigError, match=r"options: 'crf': expected int <= 51 \(got 99\)"):
        plan_make(options)  # ...so every library entry point does
    with pytest.raises(ConfigError, match=r"MakeOptions: 'seed': expected int >= 0 \(got -1\)"):
        replace(MakeOptions(prompt="a fox"), seed=-1)
    assert replace(MakeOptions(prompt="a fox"), seed=3).seed == 3


SECTIONS = ("output", "duration", "generation", "encoder", "safe_zone", "captions", "loop")
KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@given(section=st.sampled_from(SECTIONS), key=KEY, value=st.one_of(st.integers(), st.text(max_size=5)))
def test_any_unknown_key_in_any_section_is_named(section: str, key: str, value: object) -> None:
    from typing import get_type_hints

    from shortgen.config import Preset, field_names, validate_model

    if key in field_names(get_type_hints(Preset)[section]):
        return
    with pytest.raises(ConfigError, match=rf"^mine\.yaml: unknown key '{section}\.{key}'$"):
        validate_model(Preset, {"name": "mine", section: {key: value}}, "mine.yaml")


@given(fps=st.integers(-5, 130), crf=st.integers(-5, 60), opacity=st.floats(-1, 2, allow_nan=False))
def test_ranges_are_enforced_and_valid_presets_round_trip(fps: int, crf: int, opacity: float) -> None:
    from shortgen.config import Preset, as_dict, validate_model

    data = {"name": "mine", "output": {"fps": fps}, "encoder": {"crf": crf}, "captions": {"box_opacity": opacity}}
    valid = 1 <= fps <= 120 and 1 <= crf <= 51 and 0 <= opacity <= 1
    if not valid:
        with pytest.raises(ConfigError, match=r"^mine\.yaml: '(output\.fps|encoder\.crf|captions\.box_opacity)': "):
            validate_model(Preset, data, "mine.yaml")
        return
    preset = validate_model(Preset, data, "mine.yaml")
    assert (preset.output.fps, preset.encoder.crf, preset.captions.box_opacity) == (fps, crf, opacity)
    assert validate_model(Preset, as_dict(preset), "again") == preset


def test_integral_floats_and_numeric_strings_are_read_as_the_numbers_they_spell(tmp_path: Path) -> None:
    from shortgen.config import Preset, validate_model

    preset = validate_model(Preset, {"name": "x", "output": {"fps": 30.0}, "encoder": {"crf": "18"}}, "x.yaml")
    assert (preset.output.fps, preset.encoder.crf) == (30, 18)
    with pytest.raises(ConfigError, match=r"'output\.fps': expected int \(got 29\.97\)"):
        validate_model(Preset, {"name": "x", "output": {"fps": 29.97}}, "x.yaml")
