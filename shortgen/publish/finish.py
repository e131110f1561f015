"""The last steps of ``make`` / ``edit`` / ``batch``: check what was encoded, then sign it, before the rename.

The encoder writes into a hidden temp file; :func:`encode_published` checks that file against the preset's
platform rules (a failure is a warning, or with ``strict`` an error that leaves no output), signs it when
asked, and only then renames it to the output path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shortgen.atomic import atomic_output
from shortgen.errors import ShortgenError, UsageError

if TYPE_CHECKING:
    from shortgen.config import MakeOptions, Preset
    from shortgen.encode import EncodeResult
    from shortgen.progress import Progress
    from shortgen.publish.credentials import SigningKey
    from shortgen.publish.sign import Provenance


@dataclass(frozen=True)
class Publish:
    strict: bool = False
    signing: SigningKey | None = None
    provenance: Provenance | None = None


def publish_settings(options: MakeOptions) -> Publish:
    """Read and check ``--sign`` material now, before any model loads (a bad key fails in a second, not later)."""
    if not options.sign:
        if options.sign_cert or options.sign_key or options.sign_prompt or options.tsa:
            raise UsageError("--sign-cert, --sign-key, --sign-prompt and --tsa only apply with --sign", "add --sign")
        return Publish(strict=bool(options.strict))
    from shortgen.publish.credentials import load_signing_key
    from shortgen.publish.sign import c2pa_module

    signing = load_signing_key(options.sign_cert, options.sign_key, options.tsa)
    c2pa_module()
    return Publish(strict=bool(options.strict), signing=signing)


def encode_published(encode: Callable[[Path], EncodeResult], output: Path, *, overwrite: bool, preset: Preset,
                     publish: Publish, progress: Progress) -> tuple[EncodeResult, dict[str, Any], dict[str, Any]]:
    """``encode(tmp)``, check, sign; then rename to ``output``. Returns the result, the check report and
    what signing did (``{"signed": False}`` when not asked)."""
    from shortgen.publish.check import check_file
    from shortgen.publish.sign import sign_in_place

    with atomic_output(output, overwrite=overwrite) as tmp:
        encoded = encode(tmp)
        report = check_file(tmp, preset)
        report.path = str(output)
        if not report.ok:
            failure = f"{output.name} fails the {preset.name} preset's platform check: " \
                      f"{report.summary().removeprefix('fail: ')}"
            if publish.strict:
                raise ShortgenError(failure, "no file was written; see 'shortgen check', or drop --strict")
            progress.warn(failure)
        signed: dict[str, Any] = {"signed": False}
        if publish.signing is not None and publish.provenance is not None:
            signed = sign_in_place(tmp, publish.signing, publish.provenance)
        size = tmp.stat().st_size
    return replace(encoded, path=output, size_bytes=size), report.to_dict(), signed
