"""VQAScore: the answer-probability maths in closed form, batching, quoting, bad input, the stand-in, and the real
repo id loaded from a mirrored Hub cache."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import vqascore
from genart_demo.metrics.scorers import SCORERS, load_scorer
from genart_demo.metrics.vqascore_tiny import repo_files, safetensors_bytes, tiny_model
from genart_demo.mirror import write_snapshot

IMAGES = [Image.new("RGB", (64, 48), "red"), Image.new("RGB", (32, 80), "blue"), Image.new("L", (40, 40), 128)]
PROMPTS = ["a cat", 'a "quoted" dog saying {hi}', "three red cubes on a table, " * 3]


@pytest.fixture(scope="module")
def standin():
    return vqascore.load(standin=True)


def softmax(row):
    e = np.exp(row - row.max())
    return e / e.sum()


def test_answer_probability_is_the_product_of_each_answer_tokens_softmax_one_position_earlier():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 7)) * 3  # 3 prompt tokens, then the 2 answer tokens
    answer = [4, 1]
    got = vqascore.answer_probabilities(torch.tensor(logits, dtype=torch.float32), answer, prompt_length=3)
    want = [softmax(logits[b, 2])[4] * softmax(logits[b, 3])[1] for b in range(2)]
    assert got.dtype == np.float64 and got.shape == (2,)
    np.testing.assert_allclose(got, want, rtol=1e-6)


class TableModel(torch.nn.Module):
    """A fake VLM over the 256 byte tokens whose logits at each position are the table row of that position's token
    (special tokens all read the last row)."""

    def __init__(self, vocab: int):
        super().__init__()
        self.table = torch.nn.Parameter(torch.randn(vocab, vocab, generator=torch.Generator().manual_seed(1)) * 4)

    def forward(self, input_ids, **_):
        return SimpleNamespace(logits=self.table[input_ids.clamp(max=255)])


def test_the_scorer_teacher_forces_the_answer_after_the_generation_prompt(standin):
    """P("Yes") = softmax(T["\\n"])["Y"] * softmax(T["Y"])["e"] * softmax(T["e"])["s"]: the template's generation
    prompt ends in a newline, and the stand-in tokenizer spells "Yes" byte by byte."""
    table = TableModel(256)
    fake = vqascore.VQAScorer(table, standin.processor, standin.info)
    tok = standin.processor.tokenizer
    newline, y, e, s = tok.encode("\nYes", add_special_tokens=False)
    assert fake.answer_ids == [y, e, s]
    t = table.table.detach().double().numpy()
    want = softmax(t[newline])[y] * softmax(t[y])[e] * softmax(t[e])[s]
    got = fake.score(IMAGES[:2], PROMPTS[:2], batch_size=2)
    np.testing.assert_allclose(got, [want, want], rtol=1e-9)


def test_batches_score_as_one_image_at_a_time(standin):
    together = standin.score(IMAGES, PROMPTS, batch_size=3)
    alone = np.concatenate([standin.score([im], [p]) for im, p in zip(IMAGES, PROMPTS)])
    np.testing.assert_allclose(together, alone, rtol=1e-5)
    assert np.unique(together).size == 3  # the prompt and the image change the number


def test_prompts_with_quotes_and_braces_go_into_the_question_as_they_are(standin):
    text = standin.chat_text('a "quoted" dog saying {hi}')
    assert 'Does this figure show "a "quoted" dog saying {hi}"? Please answer yes or no.' in text
    assert text.index("<|image_pad|>") < text.index("Does this figure")
    assert text.endswith("<|im_start|>assistant\n")


def test_standin_scores_are_probabilities_and_repeat_with_the_seed(standin):
    first = standin.score(IMAGES, PROMPTS)
    assert first.shape == (3,) and first.dtype == np.float64 and ((first > 0) & (first < 1)).all()
    np.testing.assert_array_equal(vqascore.load(standin=True).score(IMAGES, PROMPTS), first)
    assert not np.allclose(vqascore.load(standin=True, seed=1).score(IMAGES, PROMPTS), first, rtol=1e-3, atol=0)
    assert standin.info.metric == "vqascore" and standin.info.standin and "vqascore" in SCORERS


def test_load_scorer_finds_the_module_and_a_custom_answer_changes_the_score():
    scorer = load_scorer("vqascore", standin=True, answer="No")
    assert scorer.answer_ids == scorer.processor.tokenizer.encode("No", add_special_tokens=False)
    assert "'No'" in scorer.info.preprocessing


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.score(IMAGES[:2], PROMPTS[:1]), "got 2 images and 1 prompts"),
        (lambda s: s.score(IMAGES[:1], "a cat"), "list of prompt strings"),
        (lambda s: s.score(["not an image"], ["a cat"]), "list of PIL images"),
        (lambda s: s.score(IMAGES[:1], PROMPTS[:1], batch_size=0), "batch_size must be at least 1; got 0"),
    ],
)
def test_bad_input_is_named(standin, call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call(standin)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"question": "Does this figure show it?"}, "must contain {prompt} exactly once"),
        ({"answer": "  "}, "answer must be non-empty"),
        ({"dtype": "int8"}, "VQAScore dtype 'int8' — allowed: float32, float16, bfloat16"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        vqascore.load(standin=True, **options)


def mirrored_files(seed: int) -> dict[str, bytes]:
    """The default repo's file list filled as a download would: committed JSON files, the tiny config and tokenizer,
    the tiny weights in the first shard (the second empty) and an index naming them."""
    files = repo_files()
    state = safetensors_bytes(tiny_model(files, seed))
    shard1, shard2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    files[shard1], files[shard2] = state, save({})
    with safe_open_bytes(state) as names:
        index = {"metadata": {"total_size": len(state)}, "weight_map": dict.fromkeys(names, shard1)}
    files["model.safetensors.index.json"] = json.dumps(index).encode()
    return files


class safe_open_bytes:
    """The tensor names in safetensors bytes (a context manager, so it reads like safe_open)."""

    def __init__(self, data: bytes):
        header = int.from_bytes(data[:8], "little")
        self.names = [k for k in json.loads(data[8 : 8 + header]) if k != "__metadata__"]

    def __enter__(self):
        return self.names

    def __exit__(self, *exc):
        return False


def test_the_real_repo_id_loads_offline_from_a_mirrored_cache(tmp_path, monkeypatch, standin):
    facts = repo_facts(vqascore.DEFAULT_MODEL)
    files = mirrored_files(seed=0)
    assert sorted(files) == sorted(facts.files)
    for name in ("chat_template.json", "preprocessor_config.json", "tokenizer_config.json"):
        assert files[name] == (facts.folder / name).read_bytes()
    hub = tmp_path / "hub"
    write_snapshot(hub / "models--Qwen--Qwen2-VL-2B-Instruct", "main", "a" * 40, files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))  # read at import
    real = vqascore.load(vqascore.DEFAULT_MODEL)
    assert type(real.model).__name__ == "Qwen2VLForConditionalGeneration"
    assert real.info.id == "vqascore-qwen-qwen2-vl-2b-instruct" and not real.info.standin
    scores = real.score(IMAGES, PROMPTS)
    np.testing.assert_allclose(scores, standin.score(IMAGES, PROMPTS), rtol=1e-5)  # same seed-0 weights
    for dtype in (vqascore.GPU_DTYPE, "float16"):  # the repo's bfloat16, and float16 for GPUs without bfloat16
        half_scorer = vqascore.load(vqascore.DEFAULT_MODEL, dtype=dtype)
        assert {p.dtype for p in half_scorer.model.parameters()} == {getattr(torch, dtype)}
        half = half_scorer.score(IMAGES, PROMPTS)
        assert half.dtype == np.float64 and ((half > 0) & (half < 1)).all()
        np.testing.assert_allclose(np.log(half), np.log(scores), rtol=0.05)
