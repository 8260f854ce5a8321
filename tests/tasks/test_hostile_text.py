"""Text no task can use is refused with a message: lone surrogates, invisible-only prompts, model ids that are not text,
and prompt files with CR-only lines, huge CSV fields or over-long prompts (refused at load, naming id and line)."""

import pytest

from genart_demo.errors import InputError
from genart_demo.registry import Registry, UnknownModelError
from genart_demo.tasks.common import MAX_PROMPT_CHARS, check_prompts, is_blank
from genart_demo.tasks.generate import GenerateRequest, generate
from leaderboard.arena.battles import check_prompt
from leaderboard.prompts import load_prompt_set

SURROGATE = "a cat \ud800 on a mat"  # a lone UTF-16 surrogate: not encodable as UTF-8


def test_a_lone_surrogate_is_refused_before_the_tokenizer(studio, tmp_path):
    """Regression: the tokenizer raised TypeError on /generate; the arena raised UnicodeEncodeError."""
    with pytest.raises(InputError, match=r"not valid text \(a lone surrogate, '\\ud800' at position 6\)"):
        generate(studio, GenerateRequest(model="sd15", prompt=SURROGATE, steps=1), output_dir=tmp_path)
    with pytest.raises(InputError, match="negative prompt holds a character that is not valid text"):
        check_prompts("a cat", SURROGATE)
    with pytest.raises(InputError, match="lone surrogate"):
        check_prompt(SURROGATE)
    assert not list(tmp_path.rglob("*.png"))


@pytest.mark.parametrize("text", ["\u200b\u200b", "\ufeff \u200d\t", "\u2060"])
def test_invisible_only_prompts_count_as_empty(studio, tmp_path, text):
    assert is_blank(text) and not is_blank("a\u200bb")
    with pytest.raises(InputError, match="The prompt is empty"):
        generate(studio, GenerateRequest(model="sd15", prompt=text, steps=1), output_dir=tmp_path)
    with pytest.raises(InputError, match="The prompt is empty"):
        check_prompt(text)


@pytest.mark.parametrize("model", [["sd15"], {"id": "sd15"}, 3])
def test_a_model_id_that_is_not_text_is_refused(studio, tmp_path, model):
    """Regression: a list raised TypeError: unhashable type: 'list'."""
    with pytest.raises(UnknownModelError, match=r"A model id must be text, one of: .*sd15.*; got a"):
        Registry.load().get(model)
    with pytest.raises(UnknownModelError, match="must be text"):
        generate(studio, GenerateRequest(model=model, prompt="a cat", steps=1), output_dir=tmp_path)


def test_cr_only_txt_lines_are_separate_prompts(tmp_path):
    """Regression: a .txt saved with old-Mac line endings became one prompt."""
    path = tmp_path / "mac.txt"
    path.write_bytes(b"a red cube\ra blue sphere\r# a comment\ra green cone\r")
    assert [i.text for i in load_prompt_set(path).items] == ["a red cube", "a blue sphere", "a green cone"]
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"one\r\ntwo\nthree\rfour")
    assert [i.text for i in load_prompt_set(mixed).items] == ["one", "two", "three", "four"]


def test_a_huge_csv_field_is_a_message_not_a_crash(tmp_path):
    """Regression: a field over csv's 131,072-character limit raised _csv.Error."""
    path = tmp_path / "huge.csv"
    path.write_text("prompt\nfirst\n" + '"' + "x" * 140_000 + '"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"huge.csv, line 3: cannot be read as CSV .*field larger than field limit"):
        load_prompt_set(path)


def test_over_long_and_unencodable_prompts_are_refused_at_load_with_id_and_line(tmp_path):
    """Regression: an over-long prompt was accepted at load and stopped the run when its turn came."""
    path = tmp_path / "long.txt"
    path.write_text("fine\n\n# comment\n" + "y" * (MAX_PROMPT_CHARS + 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"long.txt, line 4 \(long-001\): The prompt is 4,001 characters long"):
        load_prompt_set(path)
    table = tmp_path / "table.csv"
    table.write_text(
        'prompt,category\nok,A\n"two\nlines",B\n' + "z" * (MAX_PROMPT_CHARS + 5) + ",C\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"table.csv, line 5 \(table-002\): The prompt is 4,005 characters"):
        load_prompt_set(table)
