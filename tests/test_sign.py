"""``--sign`` and ``verify``: a tiny-model clip signed with a throwaway CA's certificate, read back with
c2pa-python's own Reader (Valid; Trusted with the root as anchor), the IPTC source type read by FFmpeg."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import c2pa
import imageio_ffmpeg
import pytest
from typer.testing import CliRunner

from shortgen.backends import LoadOptions, load_backend
from shortgen.cli.app import app
from shortgen.config import MakeOptions
from shortgen.errors import UsageError
from shortgen.inspect import mp4_layout
from shortgen.pipeline import make_clip
from shortgen.presets import load_preset
from shortgen.publish.check import check_file
from shortgen.publish.credentials import load_signing_key
from tests.certs import make_root, make_signer
from tests.helpers import decode_frames
from tests.publish_helpers import craft, publish_preset

runner = CliRunner()
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
PROMPT = "a red fox in fresh snow"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    root, root_key, root_path = make_root(folder)
    chain, key = make_signer(folder, root, root_key)
    no_sig, no_sig_key = make_signer(folder, root, root_key, "nosig", signature=False)
    no_eku, no_eku_key = make_signer(folder, root, root_key, "noeku", eku=False)
    selfish, selfish_key = make_signer(folder, root, root_key, "selfsigned", self_signed=True)
    return {"root": root_path, "chain": chain, "key": key, "nosig": no_sig, "nosig_key": no_sig_key,
            "noeku": no_eku, "noeku_key": no_eku_key, "self": selfish, "self_key": selfish_key}


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> Any:
    return load_backend("ltx", LoadOptions(model=str(tiny_model_dir)))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_backend: Any,
           pki: dict[str, Path]) -> tuple[Path, Any, Path]:
    folder = tmp_path_factory.mktemp("signed")
    preset = publish_preset(folder)
    out = folder / "fox.mp4"
    options = MakeOptions(prompt=PROMPT, preset=str(preset), model=str(tiny_model_dir), seed=7, output=str(out),
                          sign=True, sign_cert=str(pki["chain"]), sign_key=str(pki["key"]))
    return out, make_clip(options, backend=tiny_backend), preset


def mdat_payload_offset(path: Path) -> int:
    data, offset = path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"mdat":
            return offset + 8
        offset += size
    raise AssertionError("no mdat box")


def manifest_of(path: Path, trust: Path | None = None) -> tuple[str, dict[str, Any]]:
    context = None
    if trust is not None:
        settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True},
                                            "trust": {"trust_anchors": trust.read_text()}})
        context = c2pa.Context(settings=settings)
    with (c2pa.Reader(str(path), context=context) if context else c2pa.Reader(str(path))) as reader:
        return reader.get_validation_state(), reader.get_active_manifest()


def test_signed_clip_is_valid_and_trusted_with_its_root(signed: tuple[Path, Any, Path], pki: dict[str, Path]) -> None:
    out, _, _ = signed
    state, manifest = manifest_of(out)
    assert state == "Valid"
    assert manifest_of(out, pki["root"])[0] == "Trusted"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == TRAINED
    facts = next(a for a in manifest["assertions"] if a["label"] == "shortgen.generation")["data"]
    assert facts["seed"] == 7 and facts["backend"] == "ltx" and facts["model"].endswith("tiny-ltx")
    assert facts["prompt_sha256"] == hashlib.sha256(PROMPT.encode()).hexdigest() and "prompt" not in facts
    assert manifest["signature_info"]["common_name"] == "signer"


def test_signed_clip_decodes_keeps_moov_first_passes_check_and_carries_iptc_xmp(signed: tuple[Path, Any, Path]) -> None:
    out, result, preset = signed
    assert len(decode_frames(out)) == result.frames == 30
    assert mp4_layout(out) == (True, False)
    assert check_file(out, load_preset(str(preset))).ok
    assert result.check["ok"] and result.credentials["signed"] is True
    assert result.credentials["digital_source_type"] == TRAINED
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["result"]["credentials"]["signed"] is True and sidecar["result"]["check"]["ok"] is True
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    meta = subprocess.run([ffmpeg, "-hide_banner", "-export_xmp", "1", "-i", str(out), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, timeout=60).stdout
    assert "Iptc4xmpExt:DigitalSourceType>" + TRAINED in meta


def test_verify_reports_claims_and_a_flipped_byte_in_mdat_makes_it_exit_1(signed: tuple[Path, Any, Path],
                                                                          pki: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    out, _, _ = signed
    good = runner.invoke(app, ["verify", str(out), "--json"])
    assert good.exit_code == 0, good.stderr
    data = json.loads(good.stdout)
    assert data["state"] == "valid" and data["digital_source_types"] == [TRAINED] and data["shortgen"]["seed"] == 7
    trusted = runner.invoke(app, ["verify", str(out), "--trust", str(pki["root"])])
    assert trusted.exit_code == 0 and f"{out}: trusted" in trusted.stderr and "c2pa.created" in trusted.stderr
    stranger_root, _, _ = make_root(tmp_path)
    assert runner.invoke(app, ["verify", str(out), "--trust", str(tmp_path / "root.pem")]).exit_code == 1
    del stranger_root
    tampered = tmp_path / "tampered.mp4"
    shutil.copy(out, tampered)
    data_bytes = bytearray(tampered.read_bytes())
    mdat = mdat_payload_offset(tampered)
    data_bytes[mdat + 200] ^= 0xFF
    tampered.write_bytes(bytes(data_bytes))
    bad = runner.invoke(app, ["verify", str(tampered), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["state"] == "invalid" and report["problems"], report
    unsigned = runner.invoke(app, ["verify", str(craft(tmp_path / "plain.mp4"))])
    assert unsigned.exit_code == 1 and "unsigned" in unsigned.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    wrong = runner.invoke(app, ["verify", str(text)])
    assert wrong.exit_code == 1
    assert wrong.stderr.strip() == f"error: {text} is not a media file c2pa can read (give an MP4)"


def test_sign_prompt_puts_the_prompt_text_in(tmp_path: Path, tiny_model_dir: Path, tiny_backend: Any,
                                             pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTGEN_C2PA_CERT", pki["chain"].read_text())  # PEM text, as a CI secret holds it
    monkeypatch.setenv("SHORTGEN_C2PA_KEY", str(pki["key"]))
    out = tmp_path / "p.mp4"
    make_clip(MakeOptions(prompt=PROMPT, preset=str(publish_preset(tmp_path)), model=str(tiny_model_dir),
                          output=str(out), sign=True, sign_prompt=True), backend=tiny_backend, write_sidecar=False)
    facts = next(a for a in manifest_of(out)[1]["assertions"] if a["label"] == "shortgen.generation")["data"]
    assert facts["prompt"] == PROMPT


@pytest.mark.parametrize(("flags", "message"), [
    ([], "--sign needs a certificate chain"),
    (["--sign-cert", "{nosig}", "--sign-key", "{nosig_key}"], "lacks the digitalSignature key usage"),
    (["--sign-cert", "{noeku}", "--sign-key", "{noeku_key}"], "no extended key usage C2PA accepts"),
    (["--sign-cert", "{self}", "--sign-key", "{self_key}"], "is self-signed"),
    (["--sign-cert", "{chain}", "--sign-key", "{nosig_key}"], "does not match the signing certificate"),
    (["--sign-cert", "{chain}"], "--sign needs a private key"),
])
def test_bad_signing_material_fails_before_any_model_loads(tmp_path: Path, pki: dict[str, Path],
                                                           monkeypatch: pytest.MonkeyPatch, flags: list[str],
                                                           message: str) -> None:
    monkeypatch.delenv("SHORTGEN_C2PA_CERT", raising=False)
    monkeypatch.delenv("SHORTGEN_C2PA_KEY", raising=False)
    out = tmp_path / "x.mp4"
    flags = [str(pki[f[1:-1]]) if f.startswith("{") else f for f in flags]
    # The model does not exist: an error about it would mean it was looked up before the signing material.
    result = runner.invoke(app, ["make", "x", "--model", str(tmp_path / "no-model"), "--preset",
                                 str(publish_preset(tmp_path)), "-o", str(out), "--sign", *flags])
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()


def test_sign_options_without_sign_are_an_error(tmp_path: Path, pki: dict[str, Path]) -> None:
    result = runner.invoke(app, ["edit", str(craft(tmp_path / "in.mp4")), "-o", str(tmp_path / "o.mp4"),
                                 "--sign-cert", str(pki["chain"])])
    assert result.exit_code == 2 and "only apply with --sign" in result.stderr


def test_missing_c2pa_gives_the_install_hint(pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from shortgen.publish.sign import c2pa_module

    monkeypatch.setitem(sys.modules, "c2pa", None)
    with pytest.raises(UsageError, match=r"pip install 'shortgen\[c2pa\]'"):
        c2pa_module()
    assert load_signing_key(pki["chain"], pki["key"]).alg == "ES256"  # reading the key needs no c2pa


def test_edit_of_a_signed_clip_warns_and_signs_again_only_when_asked(signed: tuple[Path, Any, Path],
                                                                     pki: dict[str, Path], tmp_path: Path) -> None:
    source, _, preset = signed
    plain = tmp_path / "plain.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(plain)])
    assert result.exit_code == 0 and "re-encoding removes them" in result.stderr and "pass --sign" in result.stderr
    assert runner.invoke(app, ["verify", str(plain)]).exit_code == 1
    resigned = tmp_path / "resigned.mp4"
    result = runner.invoke(app, ["edit", str(source), "--preset", str(preset), "-o", str(resigned), "--sign",
                                 "--sign-cert", str(pki["chain"]), "--sign-key", str(pki["key"]),
                                 "--caption", "hello"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(runner.invoke(app, ["verify", str(resigned), "--json", "--trust", str(pki["root"])]).stdout)
    assert report["state"] == "trusted"
    assert [a["action"] for a in report["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert report["digital_source_types"] == [] and report["shortgen"] is None  # an edit claims no AI generation
    assert report["ingredients"] == [{"title": "fox.mp4", "relationship": "parentOf", "has_manifest": True}]
    assert mp4_layout(resigned) == (True, False)
    assert "DigitalSourceType" not in xmp_of(resigned)


def xmp_of(path: Path) -> str:
    """What FFmpeg reads from the file's metadata, XMP included."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    return subprocess.run([ffmpeg, "-hide_banner", "-export_xmp", "1", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, timeout=60).stdout


def test_a_restyled_edit_is_declared_ai_generated_with_its_source_as_parent(tmp_path: Path, tiny_model_dir: Path,
                                                                            pki: dict[str, Path]) -> None:
    source = craft(tmp_path / "street.mp4", seconds=0.5)
    preset = publish_preset(tmp_path)
    out = tmp_path / "painted.mp4"
    restyle = "the same street as a watercolour painting"
    result = runner.invoke(app, ["edit", str(source), "--restyle", restyle, "--model", str(tiny_model_dir),
                                 "--seed", "5", "--preset", str(preset), "-o", str(out), "--sign", "--sign-cert",
                                 str(pki["chain"]), "--sign-key", str(pki["key"])])
    assert result.exit_code == 0, result.stderr
    state, manifest = manifest_of(out, pki["root"])
    assert state == "Trusted"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited"]
    assert actions[1]["digitalSourceType"] == TRAINED and "digitalSourceType" not in actions[0]
    assert [(i["title"], i["relationship"]) for i in manifest["ingredients"]] == [("street.mp4", "parentOf")]
    facts = next(a for a in manifest["assertions"] if a["label"] == "shortgen.generation")["data"]
    assert facts["seed"] == 5 and facts["backend"] == "ltx" and facts["model"].endswith("tiny-ltx")
    assert facts["strength"] == 0.6 and "prompt" not in facts
    assert facts["prompt_sha256"] == hashlib.sha256(restyle.encode()).hexdigest()
    assert "Iptc4xmpExt:DigitalSourceType>" + TRAINED in xmp_of(out)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["result"]["credentials"]["digital_source_type"] == TRAINED
    report = json.loads(runner.invoke(app, ["verify", str(out), "--json"]).stdout)
    assert report["state"] == "valid" and report["digital_source_types"] == [TRAINED]


def test_dry_run_checks_the_signing_material(tmp_path: Path, pki: dict[str, Path]) -> None:
    base = ["make", "x", "--preset", str(publish_preset(tmp_path)), "--dry-run", "--sign", "--sign-cert"]
    assert runner.invoke(app, [*base, str(pki["chain"]), "--sign-key", str(pki["key"])]).exit_code == 0
    bad = runner.invoke(app, [*base, str(pki["chain"]), "--sign-key", str(pki["nosig_key"])])
    assert bad.exit_code == 2 and "does not match" in bad.stderr


def test_batch_job_files_sign_and_the_report_records_check_and_signature(tmp_path: Path, pki: dict[str, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering through the numpy stand-in model of test_batch (the tiny model's signing is proven above)."""
    import yaml

    from shortgen import pipeline
    from tests.test_batch import CountingLoader

    loader = CountingLoader()
    monkeypatch.setattr(pipeline, "load_generator", loader)
    publish_preset(tmp_path)
    shutil.copy(pki["chain"], tmp_path / "chain.pem")
    shutil.copy(pki["key"], tmp_path / "key.pem")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(yaml.safe_dump({"defaults": {"preset": "pub.yaml", "sign": True, "sign_cert": "chain.pem",
                                                 "sign_key": "key.pem"}, "jobs": ["a fox"]}))
    result = runner.invoke(app, ["batch", str(jobs), "--out-dir", str(tmp_path / "out"), "--report",
                                 str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.stderr
    # the same from the command line, with the material in the environment (as CI secrets give it)
    monkeypatch.setenv("SHORTGEN_C2PA_CERT", str(pki["chain"]))
    monkeypatch.setenv("SHORTGEN_C2PA_KEY", str(pki["key"]))
    jobs.write_text(yaml.safe_dump({"defaults": {"preset": "pub.yaml"}, "jobs": ["a fox", "a cat"]}))
    result = runner.invoke(app, ["batch", str(jobs), "--out-dir", str(tmp_path / "out"), "--report",
                                 str(tmp_path / "report.json"), "--sign", "--strict"])
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(j["signed"], j["check_ok"], j["check_failed"]) for j in report["jobs"]] == [(True, True, [])] * 2
    for job in report["jobs"]:
        assert manifest_of(Path(job["output"]), pki["root"])[0] == "Trusted"
    # a key that does not match stops the plan: no model is loaded, no clip written
    monkeypatch.delenv("SHORTGEN_C2PA_CERT")
    monkeypatch.delenv("SHORTGEN_C2PA_KEY")
    jobs.write_text(yaml.safe_dump({"defaults": {"preset": "pub.yaml", "sign": True, "sign_cert": "chain.pem",
                                                 "sign_key": str(pki["nosig_key"])}, "jobs": ["a dog"]}))
    loaded = len(loader.models)
    bad = runner.invoke(app, ["batch", str(jobs), "--out-dir", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "does not match the signing certificate" in bad.stderr
    assert len(loader.models) == loaded and not (tmp_path / "bad").exists()
