"""ImageReward: our BLIP-class scorer equals the authors' image-reward package on the same tiny weights and inputs."""

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub.file_download import repo_folder_name
from PIL import Image
from transformers import BertTokenizer, BlipVisionConfig

from genart_demo.hubfacts import repo_facts
from genart_demo.metrics import imagereward
from genart_demo.metrics.scorers import ImageScorer, load_scorer
from genart_demo.mirror import snapshot_commit, snapshot_files, write_snapshot
from genart_demo.mirror_tokenizers import vocabulary_file
from genart_demo.mirror_weights import pickled

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "cat", "dog", "photo", "of", "the", "on", "blue"]
PROMPTS = ["a red cat", "the dog on a photo of the blue cat" + " cat" * 40, "photo", "a blue dog"]
# the authors' med_config.json shrunk: 768 wide because their MLP(768) is fixed, one layer per block kind kept small
AUTHORS_MED = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 40,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 2,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": len(WORDS) + 2,
    "encoder_width": 64,
    "add_cross_attention": True,
}


def _images(seed=1):
    rng = np.random.default_rng(seed)
    sizes = [(70, 50), (200, 240), (224, 224), (90, 300)]
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


def _stub(monkeypatch, name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    monkeypatch.setitem(sys.modules, name, module)


@pytest.fixture
def authors(monkeypatch, tmp_path):
    """image-reward 1.5's ImageReward with a 2-block 64-wide ViT and the tiny med config, plus its vocab.txt path.

    Only what their scoring path never runs is stubbed (fairscale, clip, the package __init__s that import ReFL's
    training stack); transformers 5 dropped four helpers their BLIP code calls, which get their transformers 4
    definitions back for this test: additional_special_tokens_ids, init_weights, invert_attention_mask, get_head_mask.
    """
    root = Path(importlib.util.find_spec("ImageReward").origin).parent
    for name in ("fairscale", "fairscale.nn", "fairscale.nn.checkpoint"):
        _stub(monkeypatch, name)
    _stub(monkeypatch, "fairscale.nn.checkpoint.checkpoint_activations", checkpoint_wrapper=lambda m: m)
    _stub(monkeypatch, "clip", load=None)
    _stub(monkeypatch, "ImageReward", __path__=[str(root)])
    _stub(monkeypatch, "ImageReward.models", __path__=[str(root / "models")])
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    monkeypatch.setattr(modeling_utils, "apply_chunking_to_forward", pytorch_utils.apply_chunking_to_forward, False)
    monkeypatch.setattr(modeling_utils, "prune_linear_layer", pytorch_utils.prune_linear_layer, False)
    monkeypatch.setattr(modeling_utils, "find_pruneable_heads_and_indices", None, False)
    blip = importlib.import_module("ImageReward.models.BLIP.blip")
    blip_pretrain = importlib.import_module("ImageReward.models.BLIP.blip_pretrain")
    med = importlib.import_module("ImageReward.models.BLIP.med")
    vit = importlib.import_module("ImageReward.models.BLIP.vit")
    reward = importlib.import_module("ImageReward.ImageReward")

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"{w}\n" for w in WORDS))

    class V4Tokenizer(BertTokenizer):
        @property
        def additional_special_tokens_ids(self):
            return self.convert_tokens_to_ids(self.extra_special_tokens)

    def invert_attention_mask(self, mask):
        mask = mask[:, None, None, :].to(self.dtype)
        return (1.0 - mask) * torch.finfo(self.dtype).min

    def small_vit(kind, image_size, *args):
        return vit.VisionTransformer(img_size=image_size, patch_size=16, embed_dim=64, depth=2, num_heads=1), 64

    monkeypatch.setattr(
        blip, "BertTokenizer", types.SimpleNamespace(from_pretrained=lambda name: V4Tokenizer(str(vocab)))
    )
    monkeypatch.setattr(blip_pretrain, "create_vit", small_vit)
    monkeypatch.setattr(med.BertModel, "init_weights", lambda self: self.apply(self._init_weights))
    monkeypatch.setattr(med.BertModel, "invert_attention_mask", invert_attention_mask, False)
    monkeypatch.setattr(med.BertModel, "get_head_mask", lambda self, mask, n: [None] * n, False)
    med_path = tmp_path / "med_config.json"
    med_path.write_text(json.dumps(AUTHORS_MED))
    torch.manual_seed(0)
    model = reward.ImageReward(med_config=str(med_path)).eval()
    with torch.no_grad():
        for p in model.mlp.parameters():  # their init (std 1/769) makes every reward nearly equal
            p.normal_(0.0, 0.12)
    return model, vocab, med_path


def test_scores_equal_the_authors_package(authors, tmp_path):
    model, vocab, med_path = authors
    weights = tmp_path / "ImageReward.pt"
    torch.save(model.state_dict(), weights)
    ours = imagereward.scorer_from_files(weights, med_path, imagereward.with_blip_specials(BertTokenizer(str(vocab))))
    images = _images()
    theirs = np.array([model.score(p, im) for p, im in zip(PROMPTS, images)])  # one image at a time, as documented
    got = ours.score(images, PROMPTS, batch_size=3)
    assert got.dtype == np.float64 and got.shape == (4,)
    assert np.ptp(theirs) > 0.5  # the images and prompts really score apart
    np.testing.assert_allclose(got, theirs, rtol=1e-5, atol=1e-5)  # float32 both; attention kernels differ
    assert ours.tokens(PROMPTS)["input_ids"].shape == (4, imagereward.MAX_TOKENS)


def test_checkpoint_keys_map_both_ways(authors):
    state = authors[0].state_dict()
    ours = imagereward.checkpoint_to_ours(state)
    assert "vision.encoder.layers.1.self_attn.projection.weight" in ours and "head.7.bias" in ours
    kept = {k for k in state if not k.startswith(imagereward.UNUSED_PREFIXES)}
    assert set(imagereward.ours_to_checkpoint(ours)) == kept
    assert len(kept) == len(state) - 5  # vision_proj and text_proj weight/bias, position_ids


def test_an_unknown_checkpoint_key_is_named():
    with pytest.raises(ValueError, match="unexpected key 'blip.itm_head.weight'"):
        imagereward.checkpoint_to_ours({"blip.itm_head.weight": torch.zeros(1)})


def test_standin_is_seeded_batch_independent_and_described():
    scorer = imagereward.load(standin=True, seed=3)
    assert isinstance(scorer, ImageScorer)
    info = scorer.info
    assert (info.id, info.metric, info.standin) == ("standin-imagereward-seed3", "imagereward", True)
    assert "bicubic shortest side 224 + centre crop 224x224" in info.preprocessing and "35 tokens" in info.preprocessing
    one = scorer.score(_images(), PROMPTS, batch_size=1)
    np.testing.assert_allclose(scorer.score(_images(), PROMPTS, batch_size=4), one, atol=1e-6)
    np.testing.assert_array_equal(imagereward.load(standin=True, seed=3).score(_images(), PROMPTS, batch_size=1), one)
    assert not np.allclose(imagereward.load(standin=True, seed=4).score(_images(), PROMPTS), one)
    assert scorer.score([], []).shape == (0,)
    text = scorer.net.text.config  # no generation ids outside the tiny vocabulary (transformers warned of 30522, 102)
    assert (text.bos_token_id, text.eos_token_id, text.sep_token_id, text.vocab_size) == (None, None, None, 30)


def test_float16_standin_scores_close_to_float32():
    full = imagereward.load(standin=True).score(_images(), PROMPTS)
    half = imagereward.load(standin=True, dtype="float16")
    assert half.net.vision.dtype == torch.float16 and half.net.head[0].weight.dtype == torch.float32
    np.testing.assert_allclose(half.score(_images(), PROMPTS), full, atol=0.02)


@pytest.mark.parametrize(
    ("images", "prompts", "message"),
    [
        (_images()[:2], ["a cat"], "pairs image i with prompt i; got 2 images and 1 prompts"),
        (_images()[:1], "a cat", "list of prompt strings"),
    ],
)
def test_bad_pairs_and_dtypes_are_refused(images, prompts, message):
    with pytest.raises(ValueError, match=message):
        imagereward.load(standin=True).score(images, prompts)
    with pytest.raises(ValueError, match="ImageReward dtype 'half' — allowed: float32, float16, bfloat16"):
        imagereward.load(standin=True, dtype="half")


def _mirror(cache, repo, overrides):
    facts = repo_facts(repo)
    files = {**snapshot_files(facts), **overrides}
    write_snapshot(cache / repo_folder_name(repo_id=repo, repo_type="model"), "main", snapshot_commit(facts), files)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_loads_by_its_real_ids_from_a_mirrored_cache(tmp_path, monkeypatch, dtype):
    vocab_txt = vocabulary_file("bert", "vocab.txt")
    (tmp_path / "vocab.txt").write_bytes(vocab_txt)
    tokenizer = imagereward.with_blip_specials(BertTokenizer(str(tmp_path / "vocab.txt")))
    med = {**imagereward.TINY_MED, "vocab_size": len(tokenizer), "encoder_width": 64}
    vision = BlipVisionConfig(**imagereward.TINY_VISION, image_size=224, patch_size=16, layer_norm_eps=1e-6)
    torch.manual_seed(5)
    net = imagereward.ImageRewardNet(vision, imagereward.text_config_from_med(med, len(tokenizer), 64)).eval()
    checkpoint = pickled(imagereward.ours_to_checkpoint(net.state_dict()))
    _mirror(
        tmp_path, imagereward.DEFAULT_MODEL, {"ImageReward.pt": checkpoint, "med_config.json": json.dumps(med).encode()}
    )
    _mirror(tmp_path, imagereward.DEFAULT_TOKENIZER, {"vocab.txt": vocab_txt})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env alone is too late
    scorer = load_scorer("imagereward", local_files_only=True, dtype=dtype)
    assert scorer.info.id == "imagereward-thudm-imagereward" + ("" if dtype == "float32" else "-float16")
    assert not scorer.info.standin and scorer.net.vision.dtype == getattr(torch, dtype)
    assert scorer.tokenizer.convert_tokens_to_ids("[ENC]") == len(tokenizer) - 1
    want = imagereward.ImageRewardScorer(net, tokenizer, scorer.info).score(_images(), PROMPTS)
    np.testing.assert_allclose(scorer.score(_images(), PROMPTS), want, atol=1e-5 if dtype == "float32" else 0.02)
