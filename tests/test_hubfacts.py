"""Every registry entry has committed Hub facts, and what the entry says about its repo agrees with them."""

from pathlib import Path

import pytest

from genart_demo.hubfacts import all_repo_facts, repo_facts
from genart_demo.registry import Registry

REGISTRY = Registry.load()
SPECS = list(REGISTRY)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_every_entry_has_facts_for_every_repo_it_loads(spec):
    for repo, revision in spec.hub_repos():
        facts = repo_facts(repo, revision)  # MissingFacts names the folder
        assert facts.repo == repo and facts.revision == revision and facts.files


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind in ("pipeline", "model")], ids=lambda s: s.id)
def test_the_fp16_variant_matches_the_repo(spec):
    files = repo_facts(spec.repo, spec.revision).files
    if spec.subfolder:
        files = [f for f in files if f.startswith(spec.subfolder + "/")]
    weights = [f for f in files if f.endswith((".safetensors", ".bin")) and "/" in f]
    variant = [f for f in weights if ".fp16." in f]
    if spec.variant:
        assert variant, f"{spec.id} asks for variant={spec.variant!r} but {spec.repo} lists no such files"
    elif spec.gpu_dtype == "float16" and spec.safetensors:
        assert not [f for f in variant if f.endswith(".safetensors")], f"{spec.id}: the repo has fp16 files: {variant}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_safetensors_flag_matches_the_repo(spec):
    files = repo_facts(spec.repo, spec.revision).files
    if spec.kind == "upscaler":
        assert spec.file in files
        return
    has = any(f.endswith(".safetensors") for f in files if not spec.subfolder or f.startswith(spec.subfolder + "/"))
    assert has == spec.safetensors, f"{spec.id}: safetensors={spec.safetensors} but the repo lists {files}"


def test_every_facts_folder_is_used():
    """By a registry entry, or (the metric scorers' repos, e.g. GenEval's OWLv2) named in a genart_demo/metrics module."""
    used = {pair for spec in SPECS for pair in spec.hub_repos()}
    metrics = "".join(p.read_text() for p in (Path(__file__).parents[1] / "genart_demo" / "metrics").glob("*.py"))
    unused = {(f.repo, f.revision) for f in all_repo_facts()} - used
    assert used <= {(f.repo, f.revision) for f in all_repo_facts()}
    assert not {pair for pair in unused if f'"{pair[0]}"' not in metrics}


def test_facts_say_where_they_were_checked():
    for facts in all_repo_facts():
        assert facts.checked, f"{facts.repo}: no 'checked' provenance"
        for path in facts.json_files():
            assert facts.has(path), f"{facts.repo}: {path} is committed but not in the file list"
