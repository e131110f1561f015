"""What the tiny model builders share: the T5 prompt tokenizer and the refuse / build-beside / swap-in save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shortgen.errors import UsageError
from shortgen.tinymodels import PROMPT_CHARS, check_target, is_tiny_model, save_atomically, t5_tokenizer, t5_vocab


def test_t5_tokenizer_gives_words_one_token_spells_the_rest_and_survives_save_and_load(tmp_path: Path) -> None:
    from transformers import T5Tokenizer

    tokenizer = t5_tokenizer(["dog", "red", "dog"])
    assert len(t5_vocab(["dog", "red", "dog"])) == 4 + 2 + len(PROMPT_CHARS) == len(tokenizer)
    assert tokenizer.tokenize("red dog") == ["▁red", "▁dog"]
    assert tokenizer.tokenize("cat") == ["▁", "c", "a", "t"]
    ids = tokenizer("red ÿ").input_ids
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.unk_token_id in ids
    tokenizer.save_pretrained(tmp_path / "tok")
    again = T5Tokenizer.from_pretrained(tmp_path / "tok")
    assert again("a red dog, at night!").input_ids == tokenizer("a red dog, at night!").input_ids


class Failing:
    def save_pretrained(self, folder: Path, **_: Any) -> None:
        (Path(folder) / "weights.bin").write_bytes(b"half")
        raise OSError("disk full")


class Saving:
    def save_pretrained(self, folder: Path, **_: Any) -> None:
        (Path(folder) / "model_index.json").write_text("{}")


def test_a_failed_build_leaves_the_old_model_and_no_staging_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    save_atomically(Saving(), folder, {"kind": "test"}, "readme\n",
                    extra=lambda staging: (staging / "extra.bin").write_bytes(b"x"))
    assert is_tiny_model(folder) and (folder / "extra.bin").read_bytes() == b"x"
    with pytest.raises(OSError, match="disk full"):
        save_atomically(Failing(), folder, {"kind": "test"}, "readme\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "extra.bin", "model_index.json",
                                                         "shortgen_tiny.json"]


def test_a_folder_the_user_owns_is_refused_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        check_target(tmp_path, overwrite=False)
    check_target(tmp_path, overwrite=True)
    check_target(tmp_path / "new", overwrite=False)
