"""``shortgen batch``: many clips from a job file; resumable, shardable, with a JSON summary."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperCommand

from shortgen.cli import options as o
from shortgen.cli.errors import report_errors
from shortgen.cli.output import CliProgress, Output, cells, styled
from shortgen.errors import ShortgenError, Terminated, UsageError, record_stop

if TYPE_CHECKING:
    from shortgen.batch import BatchPlan, BatchReport, Shard
    from shortgen.batch.ray import RayRunner
    from shortgen.batch.settings import RayOptions

BATCH = "Batch"

JobFileArg = Annotated[str, typer.Argument(
    help="Job file: .yaml (defaults: + jobs:), .jsonl (one job per line), .txt (one prompt per line), "
         "or '-' to read prompts from stdin.", show_default=False)]
OutDir = Annotated[Path, typer.Option("--out-dir", help="Folder for the clips (created if missing); job output "
                                      "names are relative to it.", file_okay=False, rich_help_panel=BATCH)]
ShardOpt = Annotated[str | None, typer.Option("--shard", metavar="I/N", help="Run only part I of N: jobs I, I+N, "
                                              "I+2N... (appending jobs never moves others).", rich_help_panel=BATCH)]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Also write the JSON summary to this file.",
                                                dir_okay=False, rich_help_panel=BATCH)]
Force = Annotated[bool, typer.Option("--force", help="Render every job again, even up-to-date ones.",
                                     rich_help_panel=BATCH)]
FailFast = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failing job.", rich_help_panel=BATCH)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace files at a job's output paths (clip, .json) "
                                         "that shortgen did not write; without it such a job fails and they stay.",
                                         rich_help_panel=BATCH)]
# --- scale out on Ray (shortgen[ray]) ---
RAY = "Scale out (Ray)"
RayOpt = Annotated[str | None, typer.Option(
    "--ray", metavar="[auto|ADDRESS]", show_default=False, rich_help_panel=RAY,
    help="Run the jobs on Ray workers. Alone: the cluster in RAY_ADDRESS, else a local Ray on this machine; "
         "'auto': the cluster running on this machine; or HOST:PORT / ray://HOST:10001. Needs shortgen\\[ray].")]
Workers = Annotated[int | None, typer.Option("--workers", min=1, show_default=False, rich_help_panel=RAY,
                                             help="Ray workers (each loads the model once) \\[default: one per "
                                                  "GPU, or 1 on a cluster without GPUs].")]
GpusPerWorker = Annotated[float | None, typer.Option("--gpus-per-worker", min=0, show_default=False,
                                                     rich_help_panel=RAY,
                                                     help="GPUs per Ray worker; 0 for CPU workers "
                                                          "\\[default: 1 where there are GPUs, else 0].")]
Retries = Annotated[int, typer.Option("--retries", min=0, rich_help_panel=RAY,
                                      help="Times a job is handed to a new Ray worker after its worker died "
                                           "(a job that fails by raising is not retried).")]
BARE_RAY = ""  # the value of --ray given without one: RAY_ADDRESS, else a local Ray


class BatchCommand(TyperCommand):
    """Lets ``--ray`` stand alone or take a value (Typer does not pass Click's ``flag_value`` through): the next
    token is its value unless it starts with '-'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.name == "ray" and isinstance(param, click.Option):
                param._flag_needs_value = True  # Click's own switch for options whose value may be omitted
                param.flag_value = BARE_RAY


DEFAULT_RETRIES = 2  # shortgen.batch.settings.DEFAULT_RETRIES, not imported here so that --help stays light
# --- end of Ray options ---

AllowOutside = Annotated[bool, typer.Option("--allow-outside", help="Let output names be absolute or use '..'.",
                                            rich_help_panel=BATCH)]


@report_errors
def batch(
    job_file: JobFileArg,
    out_dir: OutDir = Path("."),
    shard: ShardOpt = None, report: ReportOpt = None, force: Force = False, fail_fast: FailFast = False,
    allow_outside: AllowOutside = False, overwrite: Overwrite = False,
    preset: o.Preset = None, duration: o.Duration = None, fps: o.Fps = None, seed: o.Seed = None,
    model: o.Model = None, revision: o.Revision = None, backend: o.Backend = None, steps: o.Steps = None,
    guidance: o.Guidance = None, negative_prompt: o.NegativePrompt = None, gen_size: o.GenSize = None,
    segment_frames: o.SegmentFrames = None, overlap_frames: o.OverlapFrames = None, device: o.Device = None,
    dtype: o.Dtype = None, low_memory: o.LowMemory = None, compile_model: o.Compile = None,
    attention_backend: o.AttentionBackend = None, fp8: o.Fp8 = None,
    vae_tiling: o.VaeTiling = None, decode_ahead: o.DecodeAhead = None, upscale: o.Upscale = None, loop: o.Loop = None,
    loop_overlap: o.LoopOverlap = None,
    caption_style: o.CaptionStyle = None, caption_position: o.CaptionPosition = None, font: o.Font = None,
    font_size: o.FontSize = None, subtitles: o.Subtitles = None, crf: o.Crf = None,
    fit: o.Fit = None, pad_color: o.PadColor = None, crop_x: o.CropX = None, crop_y: o.CropY = None,
    dry_run: o.DryRun = False, json: o.Json = False, quiet: o.Quiet = False,
    ray: RayOpt = None, workers: Workers = None, gpus_per_worker: GpusPerWorker = None,
    retries: Retries = DEFAULT_RETRIES,
    # publish: check and sign every clip
    strict: o.Strict = None, sign: o.Sign = None, sign_cert: o.SignCert = None, sign_key: o.SignKey = None,
    sign_prompt: o.SignPrompt = None, tsa: o.Tsa = None,
) -> None:
    """Render every job of a job file. Flags given here override the file's jobs and defaults.

    Finished jobs (same parameters, clip and sidecar present) are skipped, so re-running resumes.
    Exit code 0 when every job succeeded, 1 when any failed, 2 when the job file is invalid.
    """
    flags = dict(locals())
    from shortgen.batch import Shard, load_job_file, plan_batch

    out = Output(json_mode=json, quiet=quiet)
    cli = o.build_options(flags)
    part = Shard.parse(shard) if shard else None
    runner_options = _ray_options(ray, workers, gpus_per_worker, retries)
    if job_file == "-" and sys.stdin.isatty():
        raise UsageError("'-' reads prompts from stdin, but stdin is a terminal",
                         "pipe them in: cat prompts.txt | shortgen batch - --out-dir out/")
    try:
        plan = plan_batch(load_job_file(job_file), out_dir=out_dir, cli=cli, allow_outside=allow_outside)
    except ShortgenError as err:
        if report is not None and not dry_run:
            from shortgen.batch import write_error_report

            write_error_report(report, str(job_file), out_dir, part, str(err))
        raise
    if dry_run:
        print_batch_plan(out, plan, part, force, overwrite)
        return
    runner = _ray_runner(out, runner_options) if runner_options is not None else None
    try:
        result, code = _run(out, plan, part, force, fail_fast, overwrite, runner)
    finally:
        if runner is not None:
            runner.close()
    if report is not None:
        from shortgen.batch import write_report

        write_report(result, report)
    print_batch_report(out, result)
    raise typer.Exit(code)


def _ray_options(ray: str | None, workers: int | None, gpus_per_worker: float | None,
                 retries: int) -> RayOptions | None:
    """The Ray runner's options, or None for the local runner (where Ray-only flags are a usage error)."""
    if ray is None:
        ray_only = (("--workers", workers), ("--gpus-per-worker", gpus_per_worker),
                    ("--retries", None if retries == DEFAULT_RETRIES else retries))
        given = [flag for flag, value in ray_only if value is not None]
        if given:
            raise UsageError(f"{given[0]} needs --ray", "add --ray to run the batch on Ray workers")
        return None
    from shortgen.batch.settings import RayOptions

    return RayOptions(address=ray or None, workers=workers, gpus_per_worker=gpus_per_worker, retries=retries)


def _ray_runner(out: Output, options: RayOptions) -> RayRunner:
    from shortgen.batch.ray import RayRunner

    runner = RayRunner(options)
    runner.connect(BatchProgress(out))
    return runner


def _run(out: Output, plan: BatchPlan, part: Shard | None, force: bool, fail_fast: bool,
         overwrite: bool, runner: RayRunner | None = None) -> tuple[BatchReport, int]:
    """The report and the exit code: the report's, or 128 + the signal's number when one stopped the run."""
    from shortgen.batch import BatchReport, run_batch
    from shortgen.batch.report import now

    result = BatchReport(plan.source, plan.out_dir, part, now())
    try:
        with signals_as_interrupts(), BatchProgress(out) as progress:
            run_batch(plan, shard=part, force=force, fail_fast=fail_fast, overwrite=overwrite, progress=progress,
                      report=result, runner=runner)
    except KeyboardInterrupt as err:
        number = getattr(err, "signum", signal.SIGINT)
        out.error(f"{_signal_name(number)}; finished clips are kept and unfinished ones were removed "
                  "(run again to resume)")
        return result, 128 + int(number)
    return result, result.exit_code


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While a batch runs, SIGTERM (a CI runner cancelling or timing out) and SIGHUP (a closed terminal) stop it
    the way Ctrl-C does: temp files and claims are removed, finished clips stay, the report is written."""
    def interrupt(signum: int, frame: Any) -> None:
        raise record_stop(Terminated(signum, signal.Signals(signum).name))

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in wanted}
    except ValueError:  # not the main thread (a caller's worker thread): leave signals alone
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_name(number: int) -> str:
    return "interrupted" if number == signal.SIGINT else f"stopped by {signal.Signals(number).name}"


class BatchProgress(CliProgress):
    """The batch bar stays; each job's bars (segments, encoding) go away when done, so the screen stays short."""

    def finish(self, key: str) -> None:
        task = self._tasks.get(key)
        super().finish(key)
        self._hide(task, key)

    def fail(self, key: str, message: str) -> None:
        task = self._tasks.get(key)
        super().fail(key, message)
        self._hide(task, key)

    def _hide(self, task: Any, key: str) -> None:
        if self._bars is not None and task is not None and key != "batch":
            self._bars.update(task, visible=False)  # hidden, not removed: CliProgress indexes tasks by position


def print_batch_plan(out: Output, plan: BatchPlan, part: Shard | None, force: bool, overwrite: bool) -> None:
    from shortgen.batch import group_by_model, plan_status

    jobs = plan.selected(part)
    rows = [{**job.to_dict(), "action": plan_status(job, force, overwrite)} for job in jobs]
    summary: dict[str, Any] = {"dry_run": True, "source": plan.source, "out_dir": str(plan.out_dir),
                               "shard": str(part) if part else None, "total_jobs": len(plan.jobs),
                               "models": len(group_by_model(jobs)), "jobs": rows}
    if out.json_mode:
        out.result(summary)
        return
    out.info(styled("Plan", "bold", f" for {plan.source}: {len(rows)} of {len(plan.jobs)} job(s)"
                                    f"{f' (shard {part})' if part else ''}, {summary['models']} model(s), "
                                    f"into {plan.out_dir}"))
    from rich.table import Column, Table

    table = Table("#", "job", "action", "seconds", "seed", Column("output", overflow="fold"), box=None)
    for row in rows:
        table.add_row(*cells(row["index"], row["name"], row["action"], f"{row['duration']:g}", row["seed"],
                             _relative(row["output"], plan.out_dir)))
    if out.human:
        out.console.print(table)


def print_batch_report(out: Output, report: BatchReport) -> None:
    data = report.to_dict()
    for job in data["jobs"]:
        if job["status"] == "failed" and out.quiet:
            out.error(f"job {job['index']} ({job['name']}): {job['error']}")
    if out.json_mode:
        out.result(data)
        return
    from rich.table import Column, Table

    table = Table("#", "job", "status", "time", Column("output / error", overflow="fold"), box=None)
    for job in data["jobs"]:
        detail = job["error"] if job["error"] else _relative(job["output"], report.out_dir)
        table.add_row(*cells(job["index"], job["name"], job["status"], f"{job['seconds']:.1f} s", detail))
    if out.human:
        out.console.print(table)
    counts = data["counts"]
    done = ", ".join(f"{counts[s]} {s}" for s in ("done", "skipped", "failed", "busy", "cancelled") if counts[s])
    out.info(f"{done or 'no jobs'} in {report.seconds:.1f} s; models loaded: {report.models_loaded}")


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return path
