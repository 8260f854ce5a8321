"""VQAScore against the authors' t2v_metrics 3.0: their Qwen2VLModel.forward (process_vision_info, chat template,
one greedy generate() step, softmax of its scores at the answer's first token) run on genart's stand-in model and
processor gives genart's score for a one-token answer; for a longer answer theirs is the first token's probability
and genart's the joint probability of all of them.

Their object is built with object.__new__ and given .model/.processor/.device/.model_info: their __init__ loads the
real repo with flash-attention on CUDA. Their package __init__ checks for ffmpeg and imports every model family, so
the test registers bare parent packages pointing at the installed folders and imports qwen2vl_model alone; `decord`
(video reading, unused for images) is stubbed. Both only for this module. t2v_metrics pins transformers 4.49; this
runs their code on genart's transformers.
"""

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from qwen_vl_utils import process_vision_info
from transformers import GenerationConfig

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import vqascore

T2V_METRICS = importlib.util.find_spec("t2v_metrics")  # found, not imported: its __init__ wants ffmpeg

PROMPTS = ["a cat", 'a "quoted" dog saying {hi}', "three red cubes on a table"]
SIZES = [(56, 84), (112, 56), (84, 84)]  # multiples of 28: qwen_vl_utils' own resize is then a no-op (last test)
THEIR_QUESTION = vqascore.QUESTION.replace("{prompt}", "{}")  # str.format template; the prompt is an argument
RTOL = 1e-5  # float32 softmax of generate()'s scores vs float64 log-softmax of the same float32 logits


@pytest.fixture(scope="module")
def qwen2vl_module():
    """t2v_metrics.models.vqascore_models.qwen2vl_model, imported without its package __init__ files."""
    assert T2V_METRICS, "t2v-metrics is not installed: pip install --no-deps -r requirements-reference.txt"
    root = Path(T2V_METRICS.origin).parent
    packages = {
        "t2v_metrics": root,
        "t2v_metrics.models": root / "models",
        "t2v_metrics.models.vqascore_models": root / "models" / "vqascore_models",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, folder in packages.items():
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            mp.setitem(sys.modules, name, package)
        decord = types.ModuleType("decord")
        decord.VideoReader, decord.cpu = None, None
        mp.setitem(sys.modules, "decord", decord)
        module = importlib.import_module("t2v_metrics.models.vqascore_models.qwen2vl_model")
        yield module
        for name in [n for n in sys.modules if n.startswith("t2v_metrics")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def standin():
    """genart's stand-in with a one-byte answer; its model carries the real repo's generation_config.json."""
    scorer = vqascore.load(standin=True, answer="Y")
    facts = repo_facts(vqascore.DEFAULT_MODEL)
    scorer.model.generation_config = GenerationConfig.from_dict(facts.json("generation_config.json"))
    return scorer


def theirs_on(module, scorer):
    """Their Qwen2VLModel around genart's model and processor (what load_model would have set)."""
    model = object.__new__(module.Qwen2VLModel)
    model.model, model.processor, model.device = scorer.model, scorer.processor, torch.device("cpu")
    model.model_name, model.model_info = "qwen2-vl-2b", module.QWEN2_VL_MODELS["qwen2-vl-2b"]
    return model


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(PIL images, their PNG paths): t2v_metrics reads files."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("vqa")
    pictures = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in SIZES]
    paths = [str(folder / f"{i}.png") for i in range(len(pictures))]
    for picture, path in zip(pictures, paths):
        picture.save(path)
    return pictures, paths


def their_scores(module, scorer, paths, answer):
    return theirs_on(module, scorer).forward(paths, PROMPTS, question_template=THEIR_QUESTION, answer_template=answer)


def test_a_one_token_answer_scores_the_same_as_t2v_metrics(qwen2vl_module, standin, images):
    pictures, paths = images
    assert standin.answer_ids == standin.processor.tokenizer.encode("Y")[:1]  # their ans_token_id: one byte token
    ours = standin.score(pictures, PROMPTS, batch_size=2)
    theirs = their_scores(qwen2vl_module, standin, paths, "Y").double().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)
    assert np.unique(ours).size == 3 and (ours > 0).all() and (ours < 1).all()


def test_for_a_longer_answer_t2v_metrics_scores_only_its_first_token(qwen2vl_module, standin, images):
    """ "Yes" is 3 byte tokens on the stand-in: theirs is P("Y"), ours P("Y") P("e" | "Y") P("s" | "Ye"), smaller.
    (On the real tokenizer "Yes" is one token and the two agree.)"""
    pictures, paths = images
    yes = vqascore.VQAScorer(standin.model, standin.processor, standin.info, answer="Yes")
    assert len(yes.answer_ids) == 3
    theirs = their_scores(qwen2vl_module, standin, paths, "Yes").double().numpy()
    np.testing.assert_allclose(theirs, standin.score(pictures, PROMPTS), rtol=RTOL)  # = our P("Y")
    ours = yes.score(pictures, PROMPTS)
    assert (ours < theirs * 0.1).all()  # two more factors, each about 1/vocabulary on random tiny weights


def test_t2v_metrics_reads_the_models_generation_config_and_genart_does_not(qwen2vl_module, standin, images):
    """generate() applies the model's generation_config processors to the scores they softmax; the real repo's
    (repetition_penalty 1.0; temperature/top_k/top_p act only when sampling, and they pass do_sample=False) changes
    nothing, but a checkpoint shipping repetition_penalty > 1 lowers their score of any answer token already in the
    chat text ("Y" is in the template's system message "You are a helpful assistant.") and leaves genart's as it
    was."""
    pictures, paths = images
    ours = standin.score(pictures, PROMPTS)
    real = standin.model.generation_config
    try:
        standin.model.generation_config = GenerationConfig.from_dict({**real.to_dict(), "repetition_penalty": 1.5})
        theirs = their_scores(qwen2vl_module, standin, paths, "Y").double().numpy()
        np.testing.assert_allclose(standin.score(pictures, PROMPTS), ours, rtol=1e-9)
    finally:
        standin.model.generation_config = real
    assert not np.allclose(theirs, ours, rtol=1e-3)


def test_t2v_metrics_resizes_to_multiples_of_28_in_8_bit_first_so_pixels_differ_by_one_level_at_most(
    qwen2vl_module, standin, tmp_path
):
    """qwen_vl_utils.fetch_image resizes with PIL to a multiple of 28 (512 -> 504) and rounds to uint8 before the
    processor sees the image; genart hands the processor the original and it resizes in floating point. Same patch
    grid; pixel values equal for sides already multiples of 28 and at most one 8-bit level apart (1 / 255 / the
    smallest std 0.2613 = 0.0150) otherwise."""
    rng = np.random.default_rng(1)
    one_level = 1 / 255 / min(standin.processor.image_processor.image_std)
    for (w, h), most in [((56, 84), 0.0), ((512, 512), one_level)]:
        picture, path = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)), tmp_path / f"{w}.png"
        picture.save(path)
        ours, _ = standin.batch_inputs([picture], ["a cat"])
        data = theirs_on(qwen2vl_module, standin).load_images([str(path)])
        resized, _ = process_vision_info([{"role": "user", "content": data}])
        theirs = standin.processor(text=[standin.chat_text("a cat")], images=resized, return_tensors="pt")
        assert torch.equal(ours["image_grid_thw"], theirs["image_grid_thw"])
        gap = (ours["pixel_values"] - theirs["pixel_values"]).abs().max().item()
        assert gap <= most + 1e-6 and (gap > 0) == (most > 0)
