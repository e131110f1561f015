"""shortgen.audio on its own: reading past damage, placing tracks, ducking, loudness (judged by ffmpeg)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from shortgen.audio.loudness import measure, normalise
from shortgen.audio.mix import render
from shortgen.audio.read import read_span
from shortgen.frames import AudioBuffer, AudioMix, AudioSpec
from shortgen.stages.loop import loop_audio
from tests.audio_helpers import (
    RATE,
    band_level,
    corrupt_packet,
    decode_audio,
    ffmpeg_loudness,
    tone,
    write_avi_ac3,
    write_wav,
)
from tests.helpers import write_test_video


def no_warning(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


# ------------------------------------------------------------------------------------------------ damage


def test_a_damaged_aac_packet_becomes_silence_and_the_rest_stays_in_place(tmp_path: Path) -> None:
    clean = write_test_video(tmp_path / "clean.mp4", n=30, audio=True)
    pts, duration = corrupt_packet(clean, 40, tmp_path / "bad.mp4")
    good, good_report, _ = read_span(clean, RATE, 0, 3 * RATE)
    bad, report, available = read_span(tmp_path / "bad.mp4", RATE, 0, 3 * RATE, label="the sound")
    assert not good_report.damaged
    assert report.damaged_packets == 1 and report.damaged_seconds == pytest.approx(duration / RATE, abs=0.003)
    assert report.warning() is not None and report.warning().startswith("the sound: 1 damaged audio packet")
    assert bad.shape == (2, 3 * RATE) and available == 3 * RATE
    assert np.abs(bad[:, pts + 64:pts + duration - 64]).max() < 1e-6  # the lost packet's span is silent
    later = slice(pts + 3 * duration, pts + 20 * duration)  # past the decoder's overlap with the lost frame
    np.testing.assert_allclose(bad[:, later], good[:, later], atol=1e-4)  # and what follows stays in sync


def test_a_damaged_ac3_packet_in_an_avi_plays_on(tmp_path: Path) -> None:
    source = write_avi_ac3(tmp_path / "clean.avi")
    corrupt_packet(source, 40, tmp_path / "bad.avi")
    bad, report, available = read_span(tmp_path / "bad.avi", RATE, 0, 3 * RATE)
    assert report.damaged_packets == 1 and 0.02 < report.damaged_seconds < 0.1
    assert available == 3 * RATE  # full length: the damaged span is silence, not a shortcut
    assert np.abs(bad[:, -RATE // 2:]).max() > 0.1  # the tone carries on to the end


def test_a_negative_start_is_silence_before_the_file(tmp_path: Path) -> None:
    write_wav(tmp_path / "t.wav", np.stack([tone(1.0, 440, 0.5)] * 2))
    out, _, available = read_span(tmp_path / "t.wav", RATE, -1000, 2000)
    assert np.abs(out[:, :1000]).max() == 0 and np.abs(out[:, 1000:]).max() > 0.4 and available == 1000


# ------------------------------------------------------------------------------------------------ placing


def music_mix(path: Path, **changes: object) -> AudioMix:
    return replace(AudioMix(music=AudioSpec(path=path), loudness_lufs=None), **changes)


def test_music_shorter_than_the_clip_repeats_without_a_click_and_fades(tmp_path: Path) -> None:
    music = write_wav(tmp_path / "m.wav", np.stack([tone(0.7, 330, 0.5)] * 2))  # ends mid-cycle
    out = render(music_mix(music), RATE, 3 * RATE, no_warning).samples
    assert out.shape == (2, 3 * RATE)
    body = np.abs(out[:, RATE:2 * RATE]).max()
    assert np.abs(out[:, :RATE // 10]).max() < 0.5 * body and np.abs(out[:, -RATE // 10:]).max() < 0.5 * body
    own_step = np.abs(np.diff(tone(0.7, 330, 0.5))).max()
    assert np.abs(np.diff(out[0, RATE // 2:-RATE // 2])).max() <= own_step * 1.05  # no step at the joins


def test_a_looped_clips_music_runs_across_the_loop_point_without_a_click(tmp_path: Path) -> None:
    music = write_wav(tmp_path / "m.wav", np.stack([tone(5.0, 330, 0.5)] * 2))
    mix = loop_audio(music_mix(music), 0.5)
    assert mix.music.start == 0.5 and mix.music.loop_crossfade == 0.5
    out = render(mix, RATE, 2 * RATE, no_warning).samples
    own_step = np.abs(np.diff(out[0, RATE // 2:RATE])).max()
    assert abs(out[0, 0] - out[0, -1]) <= own_step  # replaying, the last sample runs on into the first
    replayed = np.concatenate([out[0, -2000:], out[0, :2000]])
    assert np.abs(np.diff(replayed)).max() <= own_step * 1.5  # an equal-power crossfade, no jump
    assert np.abs(out[0, :RATE // 10]).max() > 0.4  # a looping clip's music is not faded at its loop point


def test_a_voice_longer_than_the_clip_is_cut_with_one_warning(tmp_path: Path) -> None:
    voice = write_wav(tmp_path / "v.wav", np.stack([tone(2.0, 200, 0.3)] * 2))
    warnings: list[str] = []
    out = render(AudioMix(voice=AudioSpec(path=voice, label="--voice v.wav"), loudness_lufs=None), RATE, RATE,
                 warnings.append)
    assert out.samples.shape == (2, RATE) and len(warnings) == 1 and "--voice v.wav" in warnings[0]
    assert abs(out.samples[0, -1]) < 0.01  # faded at the cut: no click


def test_a_generated_bed_at_another_rate_is_resampled_to_the_clip(tmp_path: Path) -> None:
    bed = AudioBuffer(samples=tone(2.0, 440, 0.3, rate=16000), sample_rate=16000, info={"prompt": "rain"})
    mixed = render(AudioMix(bed=bed, loudness_lufs=None), RATE, 2 * RATE, no_warning)
    assert mixed.samples.shape == (2, 2 * RATE)
    assert band_level(mixed.samples[0, RATE // 2:RATE], RATE, 440) == pytest.approx(0.3, rel=0.05)
    assert mixed.report["inputs"][0]["info"] == {"prompt": "rain"} and mixed.report["inputs"][0]["role"] == "bed"


def test_music_ducks_at_least_the_configured_amount_under_a_voice(tmp_path: Path) -> None:
    seconds, depth = 5.0, 12.0
    music = write_wav(tmp_path / "m.wav", np.stack([tone(seconds, 1000, 0.3)] * 2))
    speech = tone(seconds, 220, 0.3) * (1 + 0.5 * np.sin(2 * np.pi * 4 * np.arange(round(seconds * RATE)) / RATE))
    speech[: RATE * 3 // 2] = 0  # the voice speaks from 1.5 s to 3 s
    speech[RATE * 3:] = 0
    voice = write_wav(tmp_path / "v.wav", np.stack([speech.astype(np.float32)] * 2))
    mix = AudioMix(music=AudioSpec(path=music), voice=AudioSpec(path=voice), duck_db=depth, loudness_lufs=None,
                   fade_out=0.0)
    mixed = render(mix, RATE, round(seconds * RATE), no_warning)
    before = band_level(mixed.samples[0, RATE // 2:RATE], RATE, 1000)
    under = band_level(mixed.samples[0, RATE * 2:RATE * 5 // 2], RATE, 1000)
    after = band_level(mixed.samples[0, RATE * 4:RATE * 9 // 2], RATE, 1000)
    assert 20 * np.log10(before / under) >= depth
    assert 20 * np.log10(before / after) < 3  # back up once the voice stops
    assert mixed.report["ducking"]["depth_db"] == depth


# ------------------------------------------------------------------------------------------------ loudness


def write_m4a(path: Path, samples: np.ndarray) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=RATE, layout="stereo")
        stream.bit_rate = 128_000
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts = RATE, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_measure_agrees_with_ffmpeg(tmp_path: Path) -> None:
    samples = np.stack([tone(3.0, 440, 0.25), tone(3.0, 550, 0.1)])
    path = write_wav(tmp_path / "t.wav", samples)
    mine = measure(decode_audio(path), RATE)
    judged_i, judged_peak = ffmpeg_loudness(path)
    assert mine.integrated_lufs == pytest.approx(judged_i, abs=0.1)
    assert mine.true_peak_db == pytest.approx(judged_peak, abs=0.1)


def peaky(seconds: float) -> np.ndarray:
    """Speech-like: syllables of a buzzy tone with sharp onsets, peaks far above its loudness."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) ** 2
    voice = envelope * (0.1 * np.sign(np.sin(2 * np.pi * 150 * t)) + 0.02 * np.sin(2 * np.pi * 2400 * t))
    clicks = np.zeros(n)
    clicks[:: RATE // 2] = 0.6
    return np.stack([voice + clicks, voice]).astype(np.float32)


@pytest.mark.parametrize("kind", ["quiet tone (linear gain)", "peaky speech (limited)"])
def test_normalised_sound_lands_on_target_after_aac(tmp_path: Path, kind: str) -> None:
    samples = np.stack([tone(4.0, 440, 0.05)] * 2) if kind.startswith("quiet") else peaky(4.0)
    result = normalise(samples, RATE, -14.0, -1.0)
    assert result.method == ("linear" if kind.startswith("quiet") else "limited")
    integrated, peak = ffmpeg_loudness(write_m4a(tmp_path / "n.m4a", result.samples))
    assert integrated == pytest.approx(-14.0, abs=0.5)
    assert peak < -1.0


def test_silence_is_left_alone() -> None:
    silent = np.zeros((2, RATE), dtype=np.float32)
    result = normalise(silent, RATE, -14.0, -1.0)
    assert result.method == "silent" and np.array_equal(result.samples, silent)


def test_duck_lowers_the_music_under_the_clips_own_sound(tmp_path: Path) -> None:
    music = write_wav(tmp_path / "m.wav", np.stack([tone(3.0, 1000, 0.3)] * 2))
    talk = tone(3.0, 220, 0.3)
    talk[:RATE] = 0  # the source speaks from 1 s on
    source = write_wav(tmp_path / "talk.wav", np.stack([talk] * 2))
    mix = AudioMix(source=AudioSpec(path=source), music=AudioSpec(path=music), duck_source=True, duck_db=10,
                   loudness_lufs=None, fade_in=0.0, fade_out=0.0)
    out = render(mix, RATE, 3 * RATE, no_warning).samples[0]
    before, under = band_level(out[RATE // 4:3 * RATE // 4], RATE, 1000), band_level(out[2 * RATE:], RATE, 1000)
    assert 20 * np.log10(before / under) >= 10
    undone = render(replace(mix, duck_source=False), RATE, 3 * RATE, no_warning).samples[0]
    assert band_level(undone[2 * RATE:], RATE, 1000) == pytest.approx(before, rel=0.05)  # only with --duck


def test_with_bed_lays_generated_sound_under_a_planned_mix(tmp_path: Path) -> None:
    from shortgen.audio.plan import with_bed
    from shortgen.config import AudioSettings

    bed = AudioBuffer(samples=tone(1.0, 440, 0.2), sample_rate=RATE, info={"prompt": "rain", "seed": 3})
    mix = with_bed(None, bed, AudioSettings(loudness_lufs=-20))
    assert mix.bed is bed and mix.loudness_lufs == -20
    mixed = render(mix, RATE, 2 * RATE, no_warning)  # shorter than the clip: repeated, joins crossfaded
    assert mixed.report["loudness"]["output"]["integrated_lufs"] == pytest.approx(-20, abs=0.3)
    assert mixed.report["inputs"][0]["info"] == {"prompt": "rain", "seed": 3}
    music = AudioMix(music=AudioSpec(path=write_wav(tmp_path / "m.wav", tone(1.0, 330, 0.2))))
    assert with_bed(music, bed, AudioSettings()).music == music.music


def test_sound_made_with_the_frames_is_mixed_after_the_last_frame(tmp_path: Path) -> None:
    from fractions import Fraction

    from shortgen.config import EncoderSpec
    from shortgen.encode import encode_clip
    from shortgen.frames import Clip
    from tests.audio_helpers import decode_audio
    from tests.helpers import moving_square_frames, top_level_boxes

    made: list[int] = []

    def frames():  # a backend making picture and sound together
        for frame in moving_square_frames(20, 96, 160):
            made.append(1)
            yield frame

    def sound() -> np.ndarray:
        assert len(made) == 20, "asked for the sound before the picture was complete"
        return np.stack([tone(2.0, 440, 0.1)] * 2)

    clip = Clip(96, 160, Fraction(10), 20, frames(),
                audio=AudioMix(source=AudioBuffer(samples=sound, sample_rate=RATE, label="the model's sound")))
    out = tmp_path / "late.mp4"
    encode_clip(clip, out, EncoderSpec(preset="ultrafast"))
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert abs(float(video.duration * video.time_base) - float(audio.duration * audio.time_base)) <= 0.1
    assert band_level(decode_audio(out)[0, RATE // 2:RATE], RATE, 440) > 0.1
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    assert clip.facts["audio"]["loudness"]["output"]["integrated_lufs"] == pytest.approx(-14, abs=0.3)
