"""``verify``: what a clip's Content Credentials say, and whether they validate (c2pa-python's Reader)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shortgen.errors import MediaError, UsageError
from shortgen.publish.sign import SHORTGEN_ASSERTION, c2pa_module

# Failure codes that only say the signer is not on a trust list: a self-made CA without --trust gives these.
UNTRUSTED_CODES = {"signingCredential.untrusted"}


@dataclass
class VerifyReport:
    path: str
    state: str  # "trusted", "valid", "untrusted" (valid, but not by the given anchors), "invalid", "unsigned"
    title: str | None = None
    signer: dict[str, Any] = field(default_factory=dict)
    claim_generator: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    digital_source_types: list[str] = field(default_factory=list)
    shortgen: dict[str, Any] | None = None
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("valid", "trusted")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def verify_file(path: Path, trust: Path | None = None) -> VerifyReport:
    """Read and validate ``path``'s manifest; with ``trust`` (PEM CA certificates) also check the signer's chain."""
    c2pa = c2pa_module()
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist", "check the path")
    context = _trust_context(c2pa, trust) if trust else None
    try:
        reader = c2pa.Reader(str(path), context=context) if context else c2pa.Reader(str(path))
    except c2pa.C2paError as err:
        if "ManifestNotFound" in type(err).__name__ or "no JUMBF" in str(err) or "not found" in str(err).lower():
            return VerifyReport(str(path), "unsigned", problems=["no Content Credentials in the file"])
        if "NotSupported" in type(err).__name__ or str(err).startswith("NotSupported"):
            raise MediaError(f"{path} is not a media file c2pa can read", "give an MP4") from None
        return VerifyReport(str(path), "invalid", problems=[str(err).splitlines()[0] if str(err) else repr(err)])
    with reader:
        return _report(path, reader, trust is not None)


def _trust_context(c2pa: Any, trust: Path) -> Any:
    try:
        anchors = trust.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read --trust {trust}: {err.strerror or err}") from None
    if "BEGIN CERTIFICATE" not in anchors:
        raise UsageError(f"--trust {trust} holds no PEM certificate", "give the root CA certificate(s) as PEM")
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": anchors}})
    return c2pa.Context(settings=settings)


def _report(path: Path, reader: Any, trust_given: bool) -> VerifyReport:
    state = (reader.get_validation_state() or "Invalid").lower()
    manifest = reader.get_active_manifest() or {}
    results = (reader.get_validation_results() or {}).get("activeManifest", {})
    failures = [f"{f.get('code')}: {f.get('explanation', '')}" for f in results.get("failure", [])]
    problems = [f for f in failures if trust_given or f.split(":")[0] not in UNTRUSTED_CODES]
    if state == "valid" and trust_given:
        state = "untrusted"
    elif state not in ("valid", "trusted"):
        state = "invalid"
    assertions = manifest.get("assertions", [])
    actions = [a for assertion in assertions if assertion.get("label", "").startswith("c2pa.actions")
               for a in assertion.get("data", {}).get("actions", [])]
    info = manifest.get("signature_info", {})
    return VerifyReport(
        path=str(path), state=state, title=manifest.get("title"),
        signer={k: info.get(k) for k in ("common_name", "issuer", "alg", "time", "cert_serial_number") if info.get(k)},
        claim_generator=[" ".join(str(g.get(k)) for k in ("name", "version") if g.get(k))
                         for g in manifest.get("claim_generator_info", [])],
        actions=[{k: a[k] for k in ("action", "digitalSourceType", "description") if k in a} for a in actions],
        digital_source_types=sorted({a["digitalSourceType"] for a in actions if "digitalSourceType" in a}),
        shortgen=next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == SHORTGEN_ASSERTION),
                      None),
        ingredients=[{"title": i.get("title"), "relationship": i.get("relationship"),
                      "has_manifest": bool(i.get("active_manifest"))} for i in manifest.get("ingredients", [])],
        problems=problems,
    )


def describe(report: VerifyReport) -> list[str]:
    """The report as lines for people."""
    lines = [f"{report.path}: {report.state}" + (f" ({'; '.join(report.problems)})" if report.problems else "")]
    if report.signer:
        lines.append("signer: " + ", ".join(f"{k} {v}" for k, v in report.signer.items()))
    if report.claim_generator:
        lines.append("generator: " + ", ".join(report.claim_generator))
    for action in report.actions:
        lines.append("action: " + " ".join(str(v) for v in action.values()))
    if report.shortgen:
        lines.append("shortgen: " + json.dumps(report.shortgen, sort_keys=True))
    for ingredient in report.ingredients:
        lines.append(f"ingredient: {ingredient['title']} ({ingredient['relationship']}"
                     f"{', with its own credentials' if ingredient['has_manifest'] else ''})")
    return lines
