"""The CLI through Typer's runner: modes, one-line errors, exit codes, no file left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("make", "edit", "presets", "models", "doctor"):
        assert command in result.stdout


def test_presets_list_json() -> None:
    result = run("presets", "list", "--json")
    assert result.exit_code == 0
    names = {p["name"] for p in json.loads(result.stdout)["presets"]}
    assert {"tiktok", "reels", "shorts"} <= names


def test_presets_show_json_has_every_section() -> None:
    data = json.loads(run("presets", "show", "reels", "--json").stdout)
    assert set(data) >= {"output", "duration", "generation", "encoder", "safe_zone", "captions", "loop"}
    assert data["safe_zone"] == {"left": 65, "top": 270, "right": 65, "bottom": 670}


def test_dry_run_json_prints_plan_only_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "fox.mp4"
    result = run("make", "a fox | snow | night", "--duration", "12", "--seed", "7", "--dry-run", "--json",
                 "-o", str(out))
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["frames"] == 360 and plan["seed"] == 7 and len(plan["segments"]) >= 2
    assert plan["segments"][0]["prompt"] == "a fox"
    assert plan["segments"][-1]["prompt"] == "night"
    assert not out.exists()


def test_dry_run_shows_the_speed_options_that_reach_the_model() -> None:
    plan = json.loads(run("make", "a fox", "--dry-run", "--json", "--fp8", "--decode-ahead", "--vae-tiling",
                          "--device", "cpu").stdout)
    assert plan["device"] == "cpu"
    assert plan["speed"] == {"low_memory": False, "compile": False, "attention_backend": None, "fp8": True,
                             "vae_tiling": True, "decode_ahead": True}
    human = run("make", "a fox", "--dry-run", "--fp8", "--attention-backend", "flash")
    assert "attention-backend flash, fp8" in human.stderr


def test_repeated_prompt_flags_make_a_storyboard() -> None:
    plan = json.loads(run("make", "-p", "dawn", "-p", "dusk", "--dry-run", "--json").stdout)
    assert plan["prompts"] == ["dawn", "dusk"]


BAD_INPUTS = [
    (["make", "x", "--preset", "nope"], 2, "unknown preset 'nope'"),
    (["make", "x", "--duration", "45"], 2, "outside the tiktok preset's range 10-30"),
    (["make", "x", "--gen-size", "500x960"], 2, "not a multiple of 32"),
    (["make", "", "--dry-run"], 2, "empty prompt"),
    (["make", "x", "--seed", "-1"], 2, "--seed"),
    (["make", "x", "--seed", "1.5"], 2, "--seed"),
    (["make", "x", "--image", "missing.png"], 2, "does not exist"),
    (["make", "x", "--model", "/no/such/folder"], 2, "does not exist"),
    (["make", "x", "--loop", "sideways"], 2, "--loop"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_no_file(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    out = tmp_path / "out.mp4"
    result = run(*args, "-o", str(out))
    assert result.exit_code == code, result.stderr
    assert message in one_error_line(result)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_preset_with_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text("encoder: {crf: 20, speed: fast}\n", encoding="utf-8")
    result = run("make", "x", "--preset", str(preset), "--dry-run")
    assert result.exit_code == 2
    assert f"{preset}: unknown key 'encoder.speed'" in one_error_line(result)


def test_preset_with_wrong_type(tmp_path: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text("output: {fps: fast}\n", encoding="utf-8")
    result = run("make", "x", "--preset", str(preset), "--dry-run")
    assert result.exit_code == 2 and "'output.fps'" in one_error_line(result)


def test_image_that_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "photo.png"
    fake.write_text("not a png", encoding="utf-8")
    out = tmp_path / "o.mp4"
    result = run("make", "x", "--image", str(fake), "--model", str(tmp_path), "-o", str(out))
    assert result.exit_code in (1, 2)
    assert "not an image" in one_error_line(result)
    assert not out.exists()


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"mine")
    result = run("make", "x", "-o", str(out))
    assert result.exit_code == 2 and "--overwrite" in one_error_line(result)
    assert out.read_bytes() == b"mine"


def test_unwritable_output_folder(tmp_path: Path) -> None:
    result = run("make", "x", "-o", str(tmp_path / "no" / "such" / "dir" / "clip.mp4"))
    assert result.exit_code == 2 and "does not exist" in one_error_line(result)


def test_fast_commands_do_not_import_torch_or_diffusers(tmp_path: Path) -> None:
    """--help, presets list, --dry-run and check run in one fresh interpreter that must never load torch."""
    from tests.helpers import write_test_video

    video = write_test_video(tmp_path / "v.mp4")
    code = (
        "import sys\n"
        "from shortgen.cli.app import app\n"
        "for args in (['--help'], ['presets', 'list'], ['make', 'x', '--dry-run', '--json'],\n"
        f"             ['check', {str(video)!r}, '--json']):\n"
        "    app(args, prog_name='shortgen', standalone_mode=False)\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout


def test_doctor_reports_each_check_with_a_fix() -> None:
    result = run("doctor", "--json")
    report = json.loads(result.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"package torch", "package diffusers", "device", "encoder libx264", "encoder aac", "model cache"} <= names
    assert result.exit_code == (0 if report["ok"] else 1)
    assert all(c["ok"] or c["fix"] for c in report["checks"])
    cache = next(c for c in report["checks"] if c["name"] == "model cache")
    assert "huggingface" in cache["detail"] or "hub" in cache["detail"]


@pytest.mark.parametrize("args", [[], ["presets"], ["models"]])
def test_no_arguments_prints_help_once(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0
    assert result.stdout.count("Usage:") == 1


def test_every_make_flag_reaches_the_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag → option mapping (shared by make, edit and batch) loses nothing and renames what it must."""
    import shortgen.pipeline as pipeline
    from shortgen.config import MakeOptions

    seen: dict[str, MakeOptions] = {}

    def record(options: MakeOptions, **kwargs: object) -> None:  # stands in for plan_for_stages
        seen["options"] = options
        raise SystemExit(0)

    monkeypatch.setattr(pipeline, "plan_for_stages", record)
    run("make", "a", "-p", "b", "--guidance", "2.5", "--compile", "--attention-backend", "flash", "--font",
        str(tmp_path / "f.ttf"), "--caption-outline-width", "3", "--crf", "23", "-o", str(tmp_path / "x.mp4"),
        "--dry-run")
    options = seen["options"]
    assert options.prompt == ["a", "b"] and options.guidance_scale == 2.5 and options.compile is True
    assert options.attention_backend == "flash" and options.font == str(tmp_path / "f.ttf")
    assert options.caption_outline_width == 3 and options.crf == 23 and options.output == str(tmp_path / "x.mp4")
