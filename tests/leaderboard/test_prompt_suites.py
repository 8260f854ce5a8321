"""Tests for leaderboard.prompt_suites: GenEval, T2I-CompBench++ and GenAI-Bench bundled byte for byte, one skill each."""

import hashlib
import json
import re
from pathlib import Path

import pytest
from huggingface_hub.file_download import repo_folder_name

from genart_demo.mirror import write_snapshot
from leaderboard import prompt_suites
from leaderboard.arena.categories import benchmark_categories
from leaderboard.prompts import load_prompt_set, prompt_set_names

DATA = prompt_suites.DATA_DIR
SHARED_README = Path(__file__).resolve().parents[3] / "shared" / "prompts" / "README.md"
BUNDLED_README = DATA / "README.md"
SUITE_FILES = sorted(p.name for p in DATA.iterdir() if p.name.startswith(("GenEval_", "GenAIBench_", "T2ICompBench_")))


def _checksums(readme: Path) -> dict[str, str]:
    """filename -> sha256 from a README's `sha256  filename` checksum lines."""
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme.read_text(), re.M)}


def test_every_suite_file_is_bundled_byte_for_byte():
    assert len(SUITE_FILES) == 12
    bundled = _checksums(BUNDLED_README)
    for name in SUITE_FILES:
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert bundled[name] == digest, name
        if SHARED_README.exists():  # the provenance notes the copies were made from
            assert _checksums(SHARED_README)[name] == digest, name


def test_geneval_has_553_prompts_tagged_by_skill_in_file_order():
    geneval = load_prompt_set("geneval")
    assert len(geneval) == 553
    assert geneval.categories() == {
        "single_object": 80, "two_object": 99, "counting": 80, "colors": 94, "position": 100, "color_attr": 100,
    }  # fmt: skip
    lines = (DATA / "GenEval_generation_prompts.txt").read_text().splitlines()
    assert [item.text for item in geneval] == lines  # the generation file, line for line
    assert geneval.items[0].id == "geneval-000" and geneval.items[-1].id == "geneval-552"
    assert geneval.sha256 == hashlib.sha256((DATA / "GenEval_evaluation_metadata.jsonl").read_bytes()).hexdigest()
    meta = prompt_suites.geneval_metadata()
    assert len(meta) == 553 and meta["a photo of a bench"]["include"] == [{"class": "bench", "count": 1}]
    counting = [m for m in meta.values() if m["tag"] == "counting"]
    assert all(m["exclude"][0]["count"] == m["include"][0]["count"] + 1 for m in counting)


@pytest.mark.parametrize("name", ["t2i-compbench", "t2i-compbench-2023"])
def test_t2i_compbench_has_8_skills_of_300_with_line_endings_removed(name):
    suite = load_prompt_set(name)
    assert len(suite) == 2400
    assert suite.categories() == dict.fromkeys(
        ("color", "shape", "texture", "2d-spatial", "3d-spatial", "non-spatial", "numeracy", "complex"), 300
    )
    assert not any("\r" in item.text or "\n" in item.text for item in suite)
    colour = [item.text for item in suite if item.category == "color"]
    unique = 300 if name == "t2i-compbench" else 295  # the 2023 colour file repeats 5 prompts
    assert len(set(colour)) == unique
    shape_file = (DATA / "T2ICompBench_shape_val.txt").read_bytes()
    assert b"\r\n" in shape_file  # read as CRLF, yet every prompt is the line without its ending
    assert [i.text for i in suite if i.category == "shape"] == shape_file.decode().splitlines()


def test_genai_bench_bundled_is_the_527_prompt_file_without_skills():
    suite = load_prompt_set("genai-bench")
    raw = json.loads((DATA / "GenAIBench_genai_image.json").read_text())
    assert len(suite) == 527 and suite.categories() == {"GenAI-Bench-527": 527}
    assert [item.text for item in suite] == [raw[key]["prompt"] for key in sorted(raw)]
    assert suite.items[291].text == raw["00292"]["prompt"]  # keys sort as zero-padded text, ids as the file's order


def test_genai_bench_1600_is_read_from_the_hub_dataset_with_its_skills(tmp_path, monkeypatch):
    repo, revision, images, skills = prompt_suites.GENAI_BENCH_HUB
    prompts = {f"{i:05d}": {"id": f"{i:05d}", "prompt": f"prompt number {i}"} for i in range(3)}
    tags = {"basic": [0, 1, 2], "attribute": [0, 2], "advanced": [1], "negation": [1], "scene": [2]}
    files = {images: json.dumps(prompts).encode(), skills: json.dumps(tags).encode()}
    write_snapshot(tmp_path / repo_folder_name(repo_id=repo, repo_type="dataset"), revision, "a" * 40, files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    suite = load_prompt_set("genai-bench", online=True)
    assert [(i.text, i.category, i.note) for i in suite] == [
        ("prompt number 0", "basic", "attribute"),
        ("prompt number 1", "advanced", "negation"),
        ("prompt number 2", "basic", "attribute, scene"),
    ]
    assert suite.source == f"hf://datasets/{repo}@{revision}/{images}+{skills}"


def test_genai_bench_online_falls_back_to_the_bundled_file(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # empty cache
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    assert len(load_prompt_set("genai-bench", online=True)) == 527


def test_suites_are_named_sets_and_give_arena_votes_their_skill():
    assert {"geneval", "t2i-compbench", "genai-bench"} <= set(prompt_set_names())
    assert "position" in benchmark_categories()["a photo of a dog right of a teddy bear"]
    with pytest.raises(Exception, match="geneval, t2i-compbench"):
        load_prompt_set("no-such-set")
