"""Batch jobs without a real model: parsing, validation, keys, shards, names, locks, resume, failure isolation.

Rendering here uses a numpy backend through the real pipeline and encoder, so no torch is imported; the tiny
LTX model is exercised in test_batch_tiny.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shortgen import batch as b
from shortgen import pipeline
from shortgen.backends import LTX_RULES, SegmentRequest
from shortgen.cli.app import app
from shortgen.config import MakeOptions
from shortgen.errors import ConfigError, UsageError
from tests.helpers import decode_frames, small_preset

TODAY = date(2026, 11, 23)
runner = CliRunner()


class NoiseBackend:
    """Stands in for a loaded model: seeded noise frames of the requested shape."""

    name = "noise"
    rules = LTX_RULES

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name}

    def generate(self, request: SegmentRequest, on_step: Any = None) -> np.ndarray:
        rng = np.random.default_rng(request.seed)
        return rng.integers(0, 256, (request.num_frames, request.height, request.width, 3), dtype=np.uint8)


class CountingLoader:
    def __init__(self) -> None:
        self.models: list[str] = []

    def __call__(self, preset: Any, options: MakeOptions, progress: Any) -> NoiseBackend:
        self.models.append(preset.generation.model)
        return NoiseBackend()


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    return small_preset(tmp_path, duration={"default": 1, "min": 1, "max": 3})


def job_file(tmp_path: Path, jobs: list[Any], **defaults: Any) -> Path:
    return write_yaml(tmp_path / "jobs.yaml", {"defaults": {"preset": "tiny.yaml", **defaults}, "jobs": jobs})


def plan(path: Path, out: Path, **kwargs: Any) -> b.BatchPlan:
    return b.plan_batch(b.load_job_file(path), out_dir=out, today=TODAY, **kwargs)


def run_cli(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, ["batch", *args], input=input)


def error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --------------------------------------------------------------------------------------------- parsing


def test_yaml_defaults_jobs_names_and_prompt_shorthand(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, ["a red fox", {"name": "cat", "prompt": "a cat", "seed": 3}], duration=2)
    jobs = plan(path, tmp_path / "out").jobs
    assert [j.name for j in jobs] == ["a-red-fox", "cat"]
    assert [j.plan.prompts for j in jobs] == [["a red fox"], ["a cat"]]
    assert [j.plan.duration for j in jobs] == [2, 2] and [j.plan.seed for j in jobs] == [0, 3]
    assert [j.output.name for j in jobs] == ["001-a-red-fox.mp4", "002-cat.mp4"]


def test_jsonl_with_a_defaults_line(tmp_path: Path, preset: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    lines = [{"defaults": {"preset": "tiny.yaml", "seed": 9}}, {"prompt": "one"}, {"prompt": "two", "seed": 1}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    jobs = plan(path, tmp_path).jobs
    assert [(j.plan.prompts[0], j.plan.seed) for j in jobs] == [("one", 9), ("two", 1)]


def test_jsonl_defaults_only_on_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"prompt": "one"}\n{"defaults": {"seed": 1}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 2: job 2: unknown key 'defaults'"):
        b.load_job_file(path)


def test_prompt_lines_skip_blanks_and_comments() -> None:
    job_file = b.parse_prompt_lines("# week 1\n\na fox\n  \n# off\nthe sea | night\n", "<stdin>", Path.cwd())
    assert [j.options.prompt for j in job_file.jobs] == ["a fox", "the sea | night"]
    assert [j.index for j in job_file.jobs] == [1, 2]


def test_precedence_flag_over_job_over_defaults_over_preset(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, [{"prompt": "a", "steps": 3, "duration": 2}, {"prompt": "b"}], steps=4, crf=30)
    jobs = plan(path, tmp_path, cli=MakeOptions(duration=3)).jobs
    assert [j.plan.preset.generation.steps for j in jobs] == [3, 4]  # job > defaults (preset says 2)
    assert [j.plan.duration for j in jobs] == [3, 3]  # flag > job
    assert [j.plan.preset.encoder.crf for j in jobs] == [30, 30]  # defaults > preset
    assert jobs[0].plan.preset.output.fps == 10  # preset > built-in 30


def test_relative_input_paths_resolve_against_the_job_file(tmp_path: Path, preset: Path) -> None:
    (tmp_path / "still.png").write_bytes(b"x")
    path = job_file(tmp_path, [{"prompt": "a", "image": "still.png"}])
    job = plan(path, tmp_path / "out").jobs[0]
    assert job.options.image == str(tmp_path / "still.png")
    assert job.plan.preset.name == "tiny"


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(("jobs", "defaults", "expected"), [
    ([{"prompt": "a"}, {"name": "fox", "prompt": "b", "sed": 2}], {},
     "job 2 (fox): unknown key 'sed' (did you mean 'seed'?); allowed: "),
    ([{"prompt": "a", "seed": "lots"}], {}, "job 1 (a): 'seed': expected int (got 'lots')"),
    ([{"prompt": "a", "loop": "spiral"}], {}, "job 1 (a): 'loop' is 'spiral'; allowed: 'none', 'crossfade'"),
    ([{"prompt": "a", "output": "../escape.mp4"}], {}, "job 1 (a): output '../escape.mp4' is outside"),
    ([{"prompt": "a", "output": "/tmp/abs.mp4"}], {}, "job 1 (a): output '/tmp/abs.mp4' is outside"),
    ([{"prompt": "a", "output": "{slug.upper}.mp4"}], {}, "uses '{slug.upper}'; allowed fields: {index}"),
    ([{"prompt": "a", "output": "clip.mov"}], {}, "job 1 (a): output 'clip.mov' must end in .mp4"),
    ([{"prompt": "a", "duration": 9}], {}, "job 1 (a): duration 9 s is outside the tiny preset's range 1-3 s"),
    ([{"prompt": "a"}, {"prompt": "b"}], {"output": "same.mp4"}, "job 2 (b) writes"),
    ([{"prompt": "a"}], {"colour": "red"}, "jobs.yaml: defaults: unknown key 'colour'"),
    ([{"prompt": "a"}, ["not", "a", "job"]], {}, "jobs.yaml: job 2: expected a mapping"),
    ([{"name": "empty"}], {}, "job 1 (empty): empty prompt"),
])
def test_invalid_job_file_fails_before_any_model_loads_with_exit_2(
        tmp_path: Path, preset: Path, monkeypatch: pytest.MonkeyPatch, jobs: list[Any], defaults: dict[str, Any],
        expected: str) -> None:
    monkeypatch.setattr(pipeline, "load_generator", lambda *a: pytest.fail("a model was loaded"))
    path = job_file(tmp_path, jobs, **defaults)
    result = run_cli(str(path), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith(f"error: {path}: ") and expected in line, line
    assert not (tmp_path / "out").exists()


def test_invalid_job_file_still_writes_the_report_with_the_error(tmp_path: Path, preset: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"ok": true, "stale": "from yesterday"}')
    path = job_file(tmp_path, [{"prompt": "a", "loop": "spiral"}])
    result = run_cli(str(path), "--out-dir", str(tmp_path / "out"), "--report", str(report))
    assert result.exit_code == 2, result.output
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["jobs"] == [] and data["counts"]["total"] == 0
    assert "'loop' is 'spiral'" in data["error"] and data["error"] in error_line(result)


def test_errors_in_several_jobs_are_counted_in_the_one_line(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, [{"prompt": "a", "x": 1}, {"prompt": "b", "y": 2}, {"prompt": "c", "z": 3}])
    with pytest.raises(ConfigError, match=r"job 1 \(a\): unknown key 'x'.*\(and 2 more problem\(s\)"):
        plan(path, tmp_path)


def test_top_level_shape_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown top-level key 'job'; allowed: defaults, jobs"):
        b.load_job_file(write_yaml(tmp_path / "j.yaml", {"job": []}))
    with pytest.raises(ConfigError, match="'jobs' must be a non-empty list"):
        b.load_job_file(write_yaml(tmp_path / "j.yaml", {"jobs": []}))
    (tmp_path / "bad.yaml").write_text("jobs: [a, b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml line"):
        b.load_job_file(tmp_path / "bad.yaml")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text("jobs: [!!python/object/apply:os.system ['true']]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"evil\.yaml"):
        b.load_job_file(tmp_path / "evil.yaml")


def test_allow_outside_and_subfolders(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, [{"prompt": "a", "output": "../shared/{date}-{seed}"},
                               {"prompt": "b", "output": "{date}/{name}-{index:03d}.mp4"}])
    jobs = plan(path, tmp_path / "out", allow_outside=True).jobs
    assert jobs[0].output == tmp_path / "shared" / "2026-11-23-0.mp4"
    assert jobs[1].output == tmp_path / "out" / "2026-11-23" / "b-002.mp4"


def test_symlinked_folder_pointing_outside_counts_as_outside(tmp_path: Path, preset: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path / "elsewhere")
    path = job_file(tmp_path, [{"prompt": "a", "output": "link/a.mp4"}])
    with pytest.raises(ConfigError, match="is outside the output folder"):
        plan(path, tmp_path / "out")


# ------------------------------------------------------------------------------------------------ keys


def key_of(tmp_path: Path, job: dict[str, Any], **defaults: Any) -> str:
    return plan(job_file(tmp_path, [job], **defaults), tmp_path / "out").jobs[0].key


def test_key_depends_on_what_decides_the_clip_only(tmp_path: Path, preset: Path) -> None:
    base = key_of(tmp_path, {"prompt": "a fox", "seed": 1})
    assert key_of(tmp_path, {"seed": 1, "prompt": "a fox"}) == base  # key order
    assert key_of(tmp_path, {"prompt": ["a fox"], "seed": 1}) == base  # same prompts, other spelling
    assert key_of(tmp_path, {"prompt": "a fox", "seed": 1, "output": "elsewhere.mp4"}) == base
    assert key_of(tmp_path, {"prompt": "a fox", "seed": 1, "name": "renamed"}) == base
    changed = [key_of(tmp_path, {"prompt": "a fox", "seed": 2}),
               key_of(tmp_path, {"prompt": "a cat", "seed": 1}),
               key_of(tmp_path, {"prompt": "a fox", "seed": 1, "duration": 2}),
               key_of(tmp_path, {"prompt": "a fox", "seed": 1}, crf=30)]
    assert len({base, *changed}) == 5
    small_preset(tmp_path, duration={"default": 1, "min": 1, "max": 3}, encoder={"crf": 25})  # the preset file
    assert key_of(tmp_path, {"prompt": "a fox", "seed": 1}) != base


def test_key_follows_input_file_contents(tmp_path: Path, preset: Path) -> None:
    audio = tmp_path / "music.wav"
    audio.write_bytes(b"one")
    first = key_of(tmp_path, {"prompt": "a", "audio": "music.wav"})
    assert key_of(tmp_path, {"prompt": "a", "audio": "music.wav"}) == first
    audio.write_bytes(b"two")
    assert key_of(tmp_path, {"prompt": "a", "audio": "music.wav"}) != first


# ---------------------------------------------------------------------------------------------- shards


@given(jobs=st.integers(1, 60), count=st.integers(1, 12), added=st.integers(0, 20))
def test_shards_partition_the_jobs_and_appending_moves_none(jobs: int, count: int, added: int) -> None:
    shards = [b.Shard(i, count) for i in range(1, count + 1)]
    owners = {index: [s for s in shards if s.contains(index)] for index in range(1, jobs + added + 1)}
    assert all(len(found) == 1 for found in owners.values())  # every job in exactly one shard
    sizes = [sum(1 for index in range(1, jobs + 1) if s.contains(index)) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # balanced
    # The owner of job i depends on i and the shard count only, so jobs added later never move old ones.
    assert all(owners[i][0] == next(s for s in shards if s.contains(i)) for i in range(1, jobs + 1))


def test_shard_parsing() -> None:
    assert str(b.Shard.parse(" 2/4 ")) == "2/4"
    for text in ("0/3", "4/3", "2", "a/b", "1/0"):
        with pytest.raises(UsageError, match="is not I/N"):
            b.Shard.parse(text)


def test_dry_run_shards_1_2_3_of_3_cover_every_job_once(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, [f"prompt {i}" for i in range(1, 8)])
    seen: list[int] = []
    for part in ("1/3", "2/3", "3/3"):
        result = run_cli(str(path), "--out-dir", str(tmp_path / "out"), "--shard", part, "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["dry_run"] and data["total_jobs"] == 7 and data["shard"] == part
        seen += [job["index"] for job in data["jobs"]]
    assert sorted(seen) == list(range(1, 8))
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_dry_run_and_help_import_no_torch(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, ["a fox"])
    code = ("import sys; from shortgen.cli.app import app\n"
            "dry = ['batch', sys.argv[1], '--dry-run', '--out-dir', sys.argv[2]]\n"
            "for args in (['--help'], ['batch', '--help'], dry, [*dry, '--ray', '--workers', '2']):\n"
            "    try: app(args, prog_name='shortgen')\n"
            "    except SystemExit as e: assert e.code in (0, None), e.code\n"
            "heavy = sorted(m for m in sys.modules\n"
            "               if m.split('.')[0] in ('torch', 'diffusers', 'transformers', 'ray'))\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "out")], check=True,
                   capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120)


def test_stdin_prompts_with_preset_flag(tmp_path: Path, preset: Path) -> None:
    result = run_cli("-", "--preset", str(preset), "--out-dir", str(tmp_path), "--dry-run", "--json",
                     input="# todo\na fox\n\nthe sea\n")
    assert result.exit_code == 0, result.output
    jobs = json.loads(result.stdout)["jobs"]
    assert [(j["prompts"], j["preset"], j["action"]) for j in jobs] == [(["a fox"], "tiny", "render"),
                                                                         (["the sea"], "tiny", "render")]


# ----------------------------------------------------------------------------------------------- runs


def clip_frames(path: Path) -> int:
    return len(decode_frames(path))


def test_run_resume_redo_and_model_loaded_once_per_model(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, ["one", {"prompt": "two", "model": "other"}, "three"])
    out = tmp_path / "out"
    loader = CountingLoader()
    report = b.run_batch(plan(path, out), loader=loader)
    assert [j.status for j in report.jobs] == ["done"] * 3 and report.exit_code == 0
    assert loader.models == [preset_model := loader.models[0], "other"] and preset_model != "other"
    assert report.models_loaded == 2
    for job in report.jobs:
        assert clip_frames(job.output) == 10
        assert json.loads(job.output.with_suffix(".json").read_text())["batch"]["job_key"] == job.key
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*.mp4")}

    again = b.run_batch(plan(path, out), loader=loader)
    assert [j.status for j in again.jobs] == ["skipped"] * 3 and again.models_loaded == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == mtimes

    job_file(tmp_path, ["one", {"prompt": "two", "model": "other", "duration": 2}, "three"])
    edited = b.run_batch(plan(path, out), loader=loader)
    assert [j.status for j in edited.jobs] == ["skipped", "done", "skipped"]
    assert clip_frames(out / "002-two.mp4") == 20
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.mp4") if p.name != "002-two.mp4"} == {
        p: t for p, t in mtimes.items() if p.name != "002-two.mp4"}

    forced = b.run_batch(plan(path, out), loader=loader, force=True)
    assert [j.status for j in forced.jobs] == ["done"] * 3


def test_failing_job_is_recorded_and_the_others_finish(tmp_path: Path, preset: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    loader = CountingLoader()
    monkeypatch.setattr(pipeline, "load_generator", loader)
    path = job_file(tmp_path, ["one", {"name": "broken", "prompt": "two", "image": "missing.png"}, "three"])
    report_path = tmp_path / "report.json"
    result = run_cli(str(path), "--out-dir", str(tmp_path / "out"), "--report", str(report_path), "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert json.loads(report_path.read_text()) == data
    assert [j["status"] for j in data["jobs"]] == ["done", "failed", "done"]
    assert data["counts"] == {"total": 3, "done": 2, "skipped": 0, "failed": 1, "busy": 0, "cancelled": 0}
    assert "missing.png does not exist" in data["jobs"][1]["error"] and not data["ok"]
    assert data["models_loaded"] == 1 and len(loader.models) == 1
    assert data["jobs"][0]["timings"]["encode"] >= 0 and data["jobs"][0]["frames"] == 10
    assert not (tmp_path / "out" / "002-broken.mp4").exists()


def test_fail_fast_cancels_the_rest(tmp_path: Path, preset: Path) -> None:
    path = job_file(tmp_path, [{"prompt": "one", "image": "missing.png"}, "two", "three"])
    report = b.run_batch(plan(path, tmp_path / "out"), loader=CountingLoader(), fail_fast=True)
    assert [j.status for j in report.jobs] == ["failed", "cancelled", "cancelled"] and report.exit_code == 1


def test_a_model_that_fails_to_load_is_tried_once(tmp_path: Path, preset: Path) -> None:
    calls: list[str] = []

    def broken(preset: Any, options: Any, progress: Any) -> Any:
        calls.append(preset.generation.model)
        raise UsageError("no such model")

    path = job_file(tmp_path, ["one", "two"])
    report = b.run_batch(plan(path, tmp_path / "out"), loader=broken)
    assert [j.status for j in report.jobs] == ["failed", "failed"] and len(calls) == 1
    assert [j.error for j in report.jobs] == ["no such model", "the model did not load: no such model"]


def test_a_locked_output_is_left_to_its_owner(tmp_path: Path, preset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(b.locks, "LOCK_WAIT_SECONDS", 0.05)
    batch_plan = plan(job_file(tmp_path, ["one", "two"]), tmp_path / "out")
    held = b.output_lock(batch_plan.jobs[0].output)  # another process rendering job 1, as far as flock can tell
    held.acquire()
    try:
        report = b.run_batch(batch_plan, loader=CountingLoader())
    finally:
        held.release()
    assert [j.status for j in report.jobs] == ["busy", "done"] and report.exit_code == 0
    assert not batch_plan.jobs[0].output.exists()
    assert [j.status for j in b.run_batch(batch_plan, loader=CountingLoader()).jobs] == ["done", "skipped"]


def test_stale_partials_are_removed_unless_their_lock_is_held(tmp_path: Path) -> None:
    stale = tmp_path / ".001-one.partial-0123abcd.mp4"
    stale_sidecar = tmp_path / ".001-one.partial-89abcdef.json"
    live = tmp_path / ".002-two.partial-deadbeef.mp4"
    keep = [tmp_path / "001-one.mp4", tmp_path / ".hidden.mp4", tmp_path / ".x.partial-nothex1.mp4"]
    for path in (stale, stale_sidecar, live, *keep):
        path.write_bytes(b"")
    held = b.output_lock(tmp_path / "002-two.mp4")
    held.acquire()
    try:
        removed = b.clean_stale_partials([tmp_path])
    finally:
        held.release()
    assert sorted(removed) == sorted([stale, stale_sidecar])
    assert live.exists() and all(path.exists() for path in keep)


def test_human_summary_goes_to_stderr(tmp_path: Path, preset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "load_generator", CountingLoader())
    path = job_file(tmp_path, ["one", "two"])
    result = run_cli(str(path), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "2 done in" in result.stderr and "models loaded: 1" in result.stderr
    again = run_cli(str(path), "--out-dir", str(tmp_path / "out"), "--quiet")
    assert again.exit_code == 0 and again.stderr == "" and again.stdout == ""


# -------------------------------------------------------------------------------------------- examples

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_job_file_validates(tmp_path: Path) -> None:
    jobs = plan(EXAMPLES / "jobs.yaml", tmp_path).jobs
    assert [job.name for job in jobs][1:] == ["coffee", "city-night", "waves-shorts"]
    assert jobs[1].output == tmp_path / "2026-11-23" / "02-coffee-s42.mp4"
    assert jobs[3].plan.preset.name == "shorts" and jobs[2].plan.prompts[1].startswith("close up of raindrops")


def test_example_workflow_and_script_are_well_formed() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-workflow.yml").read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["render"]["steps"]
    assert any("shortgen batch" in step.get("run", "") for step in steps)
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    subprocess.run(["bash", "-n", str(EXAMPLES / "render_week.sh")], check=True)


def test_kuberay_example_runs_the_batch_on_shared_storage() -> None:
    manifest = yaml.safe_load((EXAMPLES / "kuberay-rayjob.yaml").read_text(encoding="utf-8"))
    assert (manifest["apiVersion"], manifest["kind"]) == ("ray.io/v1", "RayJob")
    spec = manifest["spec"]
    assert spec["entrypoint"].startswith("shortgen batch ") and " --ray " in spec["entrypoint"]
    cluster = spec["rayClusterSpec"]
    pods = [cluster["headGroupSpec"]["template"]["spec"],
            *(group["template"]["spec"] for group in cluster["workerGroupSpecs"])]
    for pod in pods:  # every pod mounts the same claim at the same path as --out-dir
        (container,) = pod["containers"]
        assert [m["mountPath"] for m in container["volumeMounts"]] == ["/shared"]
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shortgen-shared"
    assert "--out-dir /shared/" in spec["entrypoint"]
    assert cluster["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"][
        "nvidia.com/gpu"] == "1"
