"""The bad-input matrix (issue 10, items 2-5): careless or hostile input ends in one ``error:`` line, the right
exit code, no traceback, nothing at the output path, and every file the user had byte-identical afterwards.

Each case builds its own files in a fresh folder and returns the command line; signals are in test_signals.py.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shortgen.cli.app import app
from tests.helpers import small_preset, write_test_video

runner = CliRunner()

BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + [
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]) + "\n"
SRT_CUE = "1\n00:00:00,000 --> 00:00:01,000\n{text}\n"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_video(tmp_path_factory.mktemp("source") / "source.mp4", n=20)


def _edit(folder: Path, video: Path, *args: str, output: str = "clip.mp4", name: str = "in.mp4") -> list[str]:
    source = folder / name
    shutil.copy(video, source)
    preset = small_preset(folder)
    return ["edit", str(source), "--preset", str(preset), "-o", str(folder / output), *args]


def _srt(folder: Path, text: str = "hello") -> Path:
    path = folder / "subs.srt"
    path.write_text(SRT_CUE.format(text=text), encoding="utf-8")
    return path


# --- item 3: nothing the user owns is replaced ------------------------------------------------------------
def existing_sidecar(d: Path, v: Path) -> list[str]:
    (d / "clip.json").write_text('{"mine": true}\n', encoding="utf-8")
    return _edit(d, v)


def existing_srt(d: Path, v: Path) -> list[str]:
    (d / "clip.srt").write_text("my own subtitles\n", encoding="utf-8")
    return _edit(d, v, "--captions", str(_srt(d)), "--subtitles", "both")


def output_is_its_own_sidecar(d: Path, v: Path) -> list[str]:
    return _edit(d, v, output="clip.json")


def output_is_its_own_srt(d: Path, v: Path) -> list[str]:
    return _edit(d, v, "--captions", str(_srt(d)), "--subtitles", "both", output="clip.srt")


def webm_output(d: Path, v: Path) -> list[str]:
    return _edit(d, v, output="clip.webm")


def mov_output(d: Path, v: Path) -> list[str]:
    return _edit(d, v, output="clip.mov")


def overwrite_a_fifo(d: Path, v: Path) -> list[str]:
    os.mkfifo(d / "clip.mp4")
    return _edit(d, v, "--overwrite")


def overwrite_a_link_to_a_device(d: Path, v: Path) -> list[str]:
    (d / "clip.mp4").symlink_to("/dev/null")
    return _edit(d, v, "--overwrite")


def overwrite_a_directory(d: Path, v: Path) -> list[str]:
    (d / "clip.mp4").mkdir()
    return _edit(d, v, "--overwrite")


def overwrite_a_sidecar_directory(d: Path, v: Path) -> list[str]:
    (d / "clip.json").mkdir()
    return _edit(d, v, "--overwrite")


# --- item 4: numbers, files and OS errors ---------------------------------------------------------------
def duration_inf(d: Path, v: Path) -> list[str]:
    return ["make", "x", "--duration", "inf", "-o", str(d / "clip.mp4")]


def preview_nan(d: Path, v: Path) -> list[str]:
    return _edit(d, v, "--preview", "nan", output="frame.png")


def yaml_inf(d: Path, v: Path) -> list[str]:
    preset = small_preset(d, name="inf", duration={"max": float("inf")})
    return ["make", "x", "--dry-run", "--preset", str(preset), "-o", str(d / "clip.mp4")]


def huge_gen_size(d: Path, v: Path) -> list[str]:
    return ["make", "x", "--dry-run", "--gen-size", "100000x100000", "-o", str(d / "clip.mp4")]


def too_many_pixels(d: Path, v: Path) -> list[str]:
    return ["make", "x", "--dry-run", "--gen-size", "2048x2048", "-o", str(d / "clip.mp4")]


def yaml_bomb_preset(d: Path, v: Path) -> list[str]:
    (d / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    return ["make", "x", "--preset", str(d / "bomb.yaml"), "-o", str(d / "clip.mp4")]


def yaml_bomb_job_file(d: Path, v: Path) -> list[str]:
    (d / "jobs.yaml").write_text(BOMB, encoding="utf-8")
    return ["batch", str(d / "jobs.yaml"), "--out-dir", str(d)]


def random_bytes_preset(d: Path, v: Path) -> list[str]:
    (d / "noise.yaml").write_bytes(bytes(range(128, 256)) * 8)
    return ["make", "x", "--preset", str(d / "noise.yaml"), "-o", str(d / "clip.mp4")]


def random_bytes_job_file(d: Path, v: Path) -> list[str]:
    (d / "jobs.yaml").write_bytes(bytes(range(128, 256)) * 8)
    return ["batch", str(d / "jobs.yaml"), "--out-dir", str(d)]


def random_bytes_jsonl_job_file(d: Path, v: Path) -> list[str]:
    (d / "jobs.jsonl").write_bytes(bytes(range(128, 256)) * 8)
    return ["batch", str(d / "jobs.jsonl"), "--out-dir", str(d)]


def directory_as_job_file(d: Path, v: Path) -> list[str]:
    (d / "jobs.yaml").mkdir()
    return ["batch", str(d / "jobs.yaml"), "--out-dir", str(d)]


def directory_as_preset(d: Path, v: Path) -> list[str]:
    (d / "style.yaml").mkdir()
    return ["make", "x", "--preset", str(d / "style.yaml"), "-o", str(d / "clip.mp4")]


def directory_as_input(d: Path, v: Path) -> list[str]:
    (d / "footage").mkdir()
    return ["edit", str(d / "footage"), "-o", str(d / "clip.mp4")]


def directory_as_captions(d: Path, v: Path) -> list[str]:
    (d / "subs.srt").mkdir()
    return _edit(d, v, "--captions", str(d / "subs.srt"))


def directory_as_font(d: Path, v: Path) -> list[str]:
    (d / "fonts").mkdir()
    return _edit(d, v, "--caption", "hi", "--font", str(d / "fonts"))


def name_too_long(d: Path, v: Path) -> list[str]:
    return _edit(d, v, output="x" * 300 + ".mp4")


def output_under_a_file(d: Path, v: Path) -> list[str]:
    (d / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    return _edit(d, v, output="notes.txt/clip.mp4")


def job_output_name_too_long(d: Path, v: Path) -> list[str]:
    (d / "jobs.yaml").write_text(f"jobs:\n  - prompt: x\n    output: {'y' * 300}.mp4\n", encoding="utf-8")
    (d / "no-model").mkdir()  # a local model path must exist at planning; the long name fails there too
    return ["batch", str(d / "jobs.yaml"), "--out-dir", str(d), "--model", str(d / "no-model")]


def out_dir_under_a_file(d: Path, v: Path) -> list[str]:
    (d / "jobs.txt").write_text("a fox\n", encoding="utf-8")
    (d / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    return ["batch", str(d / "jobs.txt"), "--out-dir", str(d / "notes.txt" / "clips")]


def long_srt_cue(d: Path, v: Path) -> list[str]:
    return _edit(d, v, "--captions", str(_srt(d, "word " * 1000)))


def long_json_cue(d: Path, v: Path) -> list[str]:
    (d / "words.json").write_text('[{"word": "%s", "start": 0, "end": 1}]' % ("w" * 5000), encoding="utf-8")
    return _edit(d, v, "--captions", str(d / "words.json"))


def infinite_word_time(d: Path, v: Path) -> list[str]:
    (d / "words.json").write_text('[{"word": "hi", "start": 0, "end": Infinity}]', encoding="utf-8")
    return _edit(d, v, "--captions", str(d / "words.json"))


def infinite_job_duration(d: Path, v: Path) -> list[str]:
    (d / "jobs.yaml").write_text("jobs:\n  - prompt: x\n    duration: .inf\n", encoding="utf-8")
    return ["batch", str(d / "jobs.yaml"), "--out-dir", str(d), "--dry-run"]


# --- item 5: user text printed literally -----------------------------------------------------------------
def bracketed_missing_input(d: Path, v: Path) -> list[str]:
    return ["edit", str(d / "holiday [final].mp4"), "-o", str(d / "clip.mp4")]


def markup_closing_tag_input(d: Path, v: Path) -> list[str]:
    return ["inspect", str(d / "[/]clip.mp4")]


def markup_in_an_existing_output(d: Path, v: Path) -> list[str]:
    (d / "[bold]clip[").mkdir()  # "/" separates names: this is the file "].mp4" in the folder "[bold]clip["
    (d / "[bold]clip[/].mp4").write_bytes(b"mine")
    return _edit(d, v, output="[bold]clip[/].mp4")


CASES: list[tuple[Callable[[Path, Path], list[str]], int, str]] = [
    (existing_sidecar, 2, "clip.json already exists (pass --overwrite"),
    (existing_srt, 2, "clip.srt already exists (pass --overwrite"),
    (output_is_its_own_sidecar, 2, "is the name of the clip's own sidecar"),
    (output_is_its_own_srt, 2, "is the name of the clip's own subtitles file"),
    (webm_output, 2, "shortgen writes MP4 video, not '.webm'"),
    (mov_output, 2, "shortgen writes MP4 video, not '.mov'"),
    (overwrite_a_fifo, 2, "is not a regular file; --overwrite replaces only regular files"),
    (overwrite_a_link_to_a_device, 2, "is not a regular file; --overwrite replaces only regular files"),
    (overwrite_a_directory, 2, "clip.mp4' is a directory"),
    (overwrite_a_sidecar_directory, 2, "clip.json is a directory"),
    (duration_inf, 2, "invalid value for --duration: inf is not a finite number"),
    (preview_nan, 2, "invalid value for --preview: nan is not a finite number"),
    (yaml_inf, 2, "'duration.max' is inf; give a finite number"),
    (huge_gen_size, 2, "'generation.width': expected int <= 2048 (got 100000)"),
    (too_many_pixels, 2, "generation size 2048x2048 is 4,194,304 pixels; at most 2,088,960"),
    (yaml_bomb_preset, 2, "bomb.yaml: its aliases expand to more than 100,000 values"),
    (yaml_bomb_job_file, 2, "jobs.yaml: its aliases expand to more than 100,000 values"),
    (random_bytes_preset, 2, "noise.yaml is not UTF-8 text"),
    (random_bytes_job_file, 2, "jobs.yaml is not UTF-8 text"),
    (random_bytes_jsonl_job_file, 2, "job file " + "{d}/jobs.jsonl is not UTF-8 text"),
    (directory_as_job_file, 2, "jobs.yaml is a directory"),
    (directory_as_preset, 2, "style.yaml is a directory"),
    (directory_as_input, 2, "footage is a directory"),
    (directory_as_captions, 2, "subs.srt is a directory"),
    (directory_as_font, 2, "fonts is a directory"),
    (name_too_long, 2, ".mp4: File name too long (use a shorter name)"),
    (output_under_a_file, 2, "notes.txt/clip.mp4: Not a directory (a part of the path is a file, not a folder)"),
    (job_output_name_too_long, 2, "job 1 (x): output name 'yyyyyyyyyyyyyyyyyyyyyyyy...' is 304 bytes"),
    (out_dir_under_a_file, 2, "notes.txt/clips: Not a directory (a part of the path is a file, not a folder)"),
    (long_srt_cue, 2, "subs.srt line 2: the cue is 4999 characters; at most 2000 fit on screen"),
    (long_json_cue, 2, "the cue at 0 s is 5000 characters; at most 2000 fit on screen"),
    (infinite_word_time, 2, "words.json entry 1: 'end' is inf; give a finite number of seconds"),
    (infinite_job_duration, 2, "job 1 (x): 'duration' is inf; give a finite number"),
    (bracketed_missing_input, 2, "holiday [final].mp4 does not exist"),
    (markup_closing_tag_input, 2, "[/]clip.mp4 does not exist"),
    (markup_in_an_existing_output, 2, "[bold]clip[/].mp4 already exists"),
]


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: a file's bytes, or what kind of thing it is."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = f"link to {os.readlink(path)}"
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = "fifo" if path.exists() and not path.is_dir() else "dir"
    return found


@pytest.mark.parametrize(("case", "code", "message"), CASES, ids=[case.__name__ for case, _, _ in CASES])
def test_bad_input_is_one_line_and_touches_nothing(case: Callable[[Path, Path], list[str]], code: int,
                                                   message: str, video: Path, tmp_path: Path) -> None:
    args = case(tmp_path, video)
    before = snapshot(tmp_path)
    result = runner.invoke(app, args, env={"NO_COLOR": "1"})
    assert result.exit_code == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.format(d=tmp_path) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no exception escaped
    assert snapshot(tmp_path) == before  # nothing new (no clip, no partial file), nothing changed


def test_disk_full_while_writing_the_sidecar_leaves_nothing(video: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    args = _edit(tmp_path, video)
    before = snapshot(tmp_path)
    real_write_text = Path.write_text

    def full(self: Path, *a: object, **k: object) -> int:
        if self.suffix == ".json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write_text(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    result = runner.invoke(app, args, env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: cannot use {tmp_path / 'clip.json'}: No space left on device (free some disk space or write "
        "elsewhere)"]
    assert snapshot(tmp_path) == before


def test_overwrite_replaces_a_regular_file_and_its_sidecar(video: Path, tmp_path: Path) -> None:
    args = _edit(tmp_path, video, "--overwrite")
    (tmp_path / "clip.mp4").write_bytes(b"old clip")
    (tmp_path / "clip.json").write_text("{}", encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "clip.mp4").read_bytes()[4:8] == b"ftyp"
    assert '"shortgen_sidecar"' in (tmp_path / "clip.json").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("name", ["holiday [final].mp4", "[/]clip.mp4"])
def test_file_names_with_brackets_print_literally(video: Path, tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.parent.mkdir(exist_ok=True)  # "[/]clip.mp4" is the file "]clip.mp4" in the folder "["
    shutil.copy(video, source)
    inspected = runner.invoke(app, ["inspect", str(source)])
    assert inspected.exit_code == 0, inspected.stderr
    assert inspected.stderr.splitlines()[0].startswith(f"{source}: 96x160")
    out = source.with_name(f"out {source.name}")
    edited = runner.invoke(app, ["edit", str(source), "--preset", str(small_preset(tmp_path)), "-o", str(out),
                                 "--caption", "[red]not markup[/]"])
    assert edited.exit_code == 0, edited.stderr
    assert f"wrote {out}: 180x320" in edited.stderr


def test_an_unreadable_preset_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preset = small_preset(tmp_path)
    real_read_bytes = Path.read_bytes

    def denied(self: Path) -> bytes:  # chmod does not stop root, who runs many CI containers
        if self == preset:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = runner.invoke(app, ["make", "x", "--dry-run", "--preset", str(preset)], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot use {preset}: Permission denied (check the file's permissions)"]
