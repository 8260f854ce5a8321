"""The mirrored Hub cache is what huggingface_hub writes for a real download: refs, snapshots linked to blobs, the
tree listing; every listed file is there; configs differ from the committed ones only in widths and depths."""

import json
import re
import shutil
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from genart_demo.hubfacts import MissingFacts, repo_facts
from genart_demo.mirror import build_mirror, snapshot_commit
from genart_demo.mirror_shrink import shrink_config

SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
FLUX = "black-forest-labs/FLUX.1-schnell"
CIFAR = "google/ddpm-cifar10-32"


def snapshot(mirror, repo: str, revision: str = "main"):
    """The snapshot folder `refs/<revision>` names, checking the ref is a 40-hex commit with a tree listing."""
    root = mirror.hub_cache / f"models--{repo.replace('/', '--')}"
    commit = (root / "refs" / revision).read_text()
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert (root / "trees" / f"{commit}.json").is_file()
    return root / "snapshots" / commit


def require(mirror, repo: str, revision: str = "main"):
    name = f"{repo.replace('/', '--')}@{revision.replace('/', '-')}"
    if name not in mirror.commits:
        pytest.fail(f"{repo}@{revision} is not mirrored: {mirror.errors.get(name, 'no committed facts')}")
    return snapshot(mirror, repo, revision)


def test_every_listed_file_is_a_link_into_blobs_and_in_the_tree_listing(mirror):
    snap = require(mirror, SDXL)
    facts = repo_facts(SDXL)
    tree = json.loads((snap.parents[1] / "trees" / f"{snap.name}.json").read_text())["files"]
    assert sorted(tree) == sorted(facts.files)
    for path in facts.files:
        file = snap / path
        assert file.is_symlink() and file.resolve().parent == (snap.parents[1] / "blobs").resolve(), path
        assert tree[path]["size"] == file.stat().st_size, path
    assert ("lfs_sha256" in tree["unet/diffusion_pytorch_model.safetensors"]) is True
    assert "lfs_sha256" not in tree["unet/config.json"]


def test_committed_json_is_verbatim_and_model_configs_change_only_in_width_and_depth(mirror):
    snap = require(mirror, SDXL)
    facts = repo_facts(SDXL)
    for path in ("model_index.json", "scheduler/scheduler_config.json", "tokenizer_2/tokenizer_config.json"):
        assert (snap / path).read_bytes() == (facts.folder / path).read_bytes(), path
    real, tiny = facts.json("unet/config.json"), json.loads((snap / "unet/config.json").read_text())
    changed = {k for k in real if real[k] != tiny[k]}
    assert set(tiny) == set(real)
    assert changed == {
        "attention_head_dim",
        "block_out_channels",
        "cross_attention_dim",
        "layers_per_block",
        "norm_num_groups",
        "transformer_layers_per_block",
        "addition_time_embed_dim",
        "projection_class_embeddings_input_dim",
    }
    text_2 = json.loads((snap / "text_encoder_2/config.json").read_text())
    # The widths between models still add up: SDXL's UNet reads both encoders' states and 6 time ids + pooled text.
    text_1 = json.loads((snap / "text_encoder/config.json").read_text())
    assert tiny["cross_attention_dim"] == text_1["hidden_size"] + text_2["hidden_size"]
    assert (
        tiny["projection_class_embeddings_input_dim"] == 6 * tiny["addition_time_embed_dim"] + text_2["projection_dim"]
    )


def test_fp16_variants_hold_the_same_tensors_in_half_precision(mirror):
    snap = require(mirror, SDXL)
    full = load_file(snap / "unet/diffusion_pytorch_model.safetensors")
    half = load_file(snap / "unet/diffusion_pytorch_model.fp16.safetensors")
    assert full.keys() == half.keys() and len(full) > 100
    assert {t.dtype for t in full.values()} == {torch.float32}
    assert {t.dtype for t in half.values()} == {torch.float16}
    key = "conv_in.weight"
    assert torch.equal(full[key].half(), half[key])


def test_shards_and_their_index_agree(mirror):
    snap = require(mirror, FLUX)
    index = json.loads((snap / "transformer/diffusion_pytorch_model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert shards == [f"diffusion_pytorch_model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    for shard in shards:
        keys = set(load_file(snap / "transformer" / shard))
        assert keys and keys == {k for k, v in index["weight_map"].items() if v == shard}


def test_text_encoders_read_the_tiny_tokenizers_vocabulary(mirror):
    from transformers import CLIPTokenizer, T5TokenizerFast

    snap = require(mirror, FLUX)
    for tokenizer_cls, folder, encoder in ((CLIPTokenizer, "tokenizer", "text_encoder"),):
        tokenizer = tokenizer_cls.from_pretrained(snap / folder)
        config = json.loads((snap / encoder / "config.json").read_text())
        assert config["vocab_size"] == len(tokenizer) < 1000
        assert max(tokenizer("a photo of a cat").input_ids) < config["vocab_size"]
    t5 = T5TokenizerFast.from_pretrained(snap / "tokenizer_2")
    config = json.loads((snap / "text_encoder_2/config.json").read_text())
    assert config["vocab_size"] == len(t5) and t5.eos_token_id == config["eos_token_id"] == 1


def test_a_second_build_writes_nothing_and_changed_facts_get_a_new_commit(tmp_path):
    facts = repo_facts(CIFAR)
    first = build_mirror(tmp_path / "hub", [facts])
    ref = tmp_path / "hub/models--google--ddpm-cifar10-32/refs/main"
    written = ref.stat().st_mtime_ns
    assert build_mirror(tmp_path / "hub", [facts]).commits == first.commits
    assert ref.stat().st_mtime_ns == written
    copy = tmp_path / "facts"
    shutil.copytree(facts.folder, copy)
    scheduler = json.loads((copy / "scheduler_config.json").read_text())
    (copy / "scheduler_config.json").write_text(json.dumps({**scheduler, "clip_sample": False}))
    changed = replace(facts, folder=copy)
    assert snapshot_commit(changed) != snapshot_commit(facts)
    build_mirror(tmp_path / "hub", [changed])
    assert ref.read_text() == snapshot_commit(changed)


def test_a_build_failing_midway_leaves_no_snapshot_and_no_ref_and_the_next_build_completes(tmp_path, monkeypatch):
    import genart_demo.mirror as mirror_module

    real_write, calls = mirror_module.atomic_write, []

    def failing_write(path, data, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # the third blob of the snapshot
            raise OSError("disk full")
        return real_write(path, data, **kwargs)

    monkeypatch.setattr(mirror_module, "atomic_write", failing_write)
    result = build_mirror(tmp_path / "hub", [repo_facts(CIFAR)], strict=False)
    assert result.errors == {"google--ddpm-cifar10-32@main": "OSError: disk full"}
    root = tmp_path / "hub/models--google--ddpm-cifar10-32"
    assert not (root / "refs").exists() and list(root.glob("snapshots/*")) == []
    monkeypatch.setattr(mirror_module, "atomic_write", real_write)
    assert build_mirror(tmp_path / "hub", [repo_facts(CIFAR)]).errors == {}
    assert sorted(p.name for p in root.glob("snapshots/*/*")) == sorted(repo_facts(CIFAR).files)


def test_a_listed_config_without_a_committed_copy_is_named(tmp_path):
    facts = repo_facts(CIFAR)
    copy = tmp_path / "facts"
    shutil.copytree(facts.folder, copy)
    (copy / "config.json").unlink()
    with pytest.raises(MissingFacts, match=r"google/ddpm-cifar10-32@main: no committed copy of config.json"):
        build_mirror(tmp_path / "hub", [replace(facts, folder=copy)])


def test_shrink_keeps_every_key_but_widths_and_depths():
    config = repo_facts(FLUX).json("transformer/config.json")
    tiny = shrink_config("FluxTransformer2DModel", config, defaults={"axes_dims_rope": (16, 56, 56)})
    assert {k: v for k, v in tiny.items() if k in config and v == config[k]} == {
        k: config[k] for k in ("_class_name", "_diffusers_version", "guidance_embeds", "in_channels", "patch_size")
    }
    # The rotary axes (a class default the config leaves out) shrink with the head width they must sum to.
    assert tiny["axes_dims_rope"] == [4, 14, 14] and tiny["attention_head_dim"] == 32
    assert tiny["joint_attention_dim"] == 4096 // 64 and tiny["pooled_projection_dim"] == 768 // 64
