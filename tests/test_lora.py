"""LoRA text: parse, format and with_weight (lora_spec), and AUTOMATIC1111's <lora:...> tags."""

import pytest

from genart_demo.errors import InputError
from genart_demo.lora_spec import LoraUse, format_loras, hub_parts, parse_loras, prompt_lora_tags, with_weight


@pytest.fixture()
def files(tmp_path):
    a, b = tmp_path / "style.safetensors", tmp_path / "detail.safetensors"
    a.write_bytes(b"x")
    b.write_bytes(b"y")
    return a, b


def test_parse_reads_sources_and_weights_with_one_as_the_default(files):
    a, b = files
    uses = parse_loras(f"{a}:0.7, {b}, owner/repo:-1.5, owner/repo/sub/w.safetensors:2")
    assert uses == (
        LoraUse(str(a), 0.7),
        LoraUse(str(b), 1.0),
        LoraUse("owner/repo", -1.5),
        LoraUse("owner/repo/sub/w.safetensors", 2.0),
    )
    assert [u.name for u in uses] == ["style", "detail", "repo", "w"]
    assert parse_loras("") == () and parse_loras("  ,  ") == ()


def test_split_is_at_the_last_colon_only_before_a_number():
    assert hub_parts("owner/repo") == ("owner/repo", None)
    assert hub_parts("owner/repo/sub/w.safetensors") == ("owner/repo", "sub/w.safetensors")
    assert hub_parts(r"C:\loras\x.safetensors") is None and hub_parts("loras/x.safetensors") is None
    uses = parse_loras(r"C:\loras\x.safetensors:0.5, C:\loras\y.safetensors", check_files=False)
    assert uses == (LoraUse(r"C:\loras\x.safetensors", 0.5), LoraUse(r"C:\loras\y.safetensors", 1.0))
    assert uses[0].name == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nowhere/missing.safetensors", "was not found"),
        ("style.ckpt", "is not a .safetensors file"),
        ("foo", "neither a Hub repo id nor a .safetensors file"),
        ("owner/repo:abc", "neither a Hub repo id"),  # 'abc' is not a number, so it stays part of the source
        ("owner/repo:7", "must be from -4 to 4; got '7'"),
        ("owner/repo:nan", "must be from -4 to 4"),
        ("owner/repo:1, owner/repo:2", "'owner/repo' is listed twice"),
        (", ".join(f"o/r{i}" for i in range(9)), "9 LoRAs were given; at most 8"),
    ],
)
def test_bad_input_is_named(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_loras(text)


def test_format_reads_back_exactly_and_with_weight_sets_every_weight(files):
    a, b = files
    uses = (LoraUse(str(a), 0.7), LoraUse(str(b), 0.1 + 0.2), LoraUse("o/r", 1.0))
    text = format_loras(uses)
    assert text == f"{a}:0.7, {b}:0.30000000000000004, o/r:1"
    assert parse_loras(text) == uses
    assert with_weight(text, -0.25) == f"{a}:-0.25, {b}:-0.25, o/r:-0.25"
    assert with_weight("gone/missing.safetensors:1", 0.5) == "gone/missing.safetensors:0.5"  # no file check
    with pytest.raises(InputError, match="from -4 to 4; got 9"):
        with_weight(text, 9)


def test_a1111_prompt_tags_become_loras_and_leave_the_prompt():
    prompt, loras = prompt_lora_tags("a castle <lora:foo:0.7>, at dusk <lora:bar_v2> <LORA:baz:0.5:0.2>")
    assert prompt == "a castle, at dusk"
    assert loras == "foo:0.7, bar_v2:1, baz:0.5"
    assert prompt_lora_tags("no tags") == ("no tags", "")
