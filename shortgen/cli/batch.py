"""``shortgen batch``: many clips from a job file; resumable, shardable, with a JSON summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shortgen.cli import options as o
from shortgen.cli.errors import EXIT_INTERRUPTED, report_errors
from shortgen.cli.output import CliProgress, Output, cells, styled
from shortgen.errors import ShortgenError, UsageError

if TYPE_CHECKING:
    from shortgen.batch import BatchPlan, BatchReport, Shard

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
AllowOutside = Annotated[bool, typer.Option("--allow-outside", help="Let output names be absolute or use '..'.",
                                            rich_help_panel=BATCH)]


@report_errors
def batch(
    job_file: JobFileArg,
    out_dir: OutDir = Path("."),
    shard: ShardOpt = None, report: ReportOpt = None, force: Force = False, fail_fast: FailFast = False,
    allow_outside: AllowOutside = False,
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
    dry_run: o.DryRun = False, json: o.Json = False, quiet: o.Quiet = False,
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
        print_batch_plan(out, plan, part, force)
        return
    result = _run(out, plan, part, force, fail_fast)
    if report is not None:
        from shortgen.batch import write_report

        write_report(result, report)
    print_batch_report(out, result)
    raise typer.Exit(result.exit_code)


def _run(out: Output, plan: BatchPlan, part: Shard | None, force: bool, fail_fast: bool) -> BatchReport:
    from shortgen.batch import run_batch

    try:
        with BatchProgress(out) as progress:
            return run_batch(plan, shard=part, force=force, fail_fast=fail_fast, progress=progress)
    except KeyboardInterrupt:
        out.error("interrupted; finished clips are kept and the unfinished one was removed (run again to resume)")
        raise typer.Exit(EXIT_INTERRUPTED) from None


class BatchProgress(CliProgress):
    """The batch bar stays; each job's bars (segments, encoding) go away when done, so the screen stays short."""

    def finish(self, key: str) -> None:
        task = self._tasks.get(key)
        super().finish(key)
        if self._bars is not None and task is not None and key != "batch":
            self._bars.update(task, visible=False)  # hidden, not removed: CliProgress indexes tasks by position


def print_batch_plan(out: Output, plan: BatchPlan, part: Shard | None, force: bool) -> None:
    from shortgen.batch import group_by_model, plan_status

    jobs = plan.selected(part)
    rows = [{**job.to_dict(), "action": plan_status(job, force)} for job in jobs]
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
