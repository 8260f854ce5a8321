"""Skill-tagged prompt suites (GenEval, T2I-CompBench++, GenAI-Bench): bundled byte-for-byte copies, one skill per prompt.

Each suite becomes a PromptSet whose `category` is the prompt's skill, so the leaderboard's per-category tables are
per-skill tables. Provenance and sha256 of every file: leaderboard/data/README.md.

- **geneval** (Ghosh et al. 2023): 553 prompts of `GenEval_evaluation_metadata.jsonl`; category = the row's `tag`
  (single_object, two_object, counting, colors, position, color_attr). The row itself (objects, counts, colours,
  positions) is what GenEval's checks need: `geneval_metadata()` maps each prompt text to it (all 553 differ).
- **t2i-compbench** (Huang et al. 2023/2025): the 8 validation files of T2I-CompBench++, 300 prompts each, in the
  paper's order; category = the skill. `t2i-compbench-2023` swaps in the colour file as the 2023 paper used it (5
  prompts repeated), for numbers comparable with papers from 2023 to mid-2025.
- **genai-bench**: the 527-prompt file of the VQAScore paper (no skill tags: category "GenAI-Bench-527"). With
  online=True, the 1,600-prompt set and its skill tags are read from the Hub dataset `BaiqiL/GenAI-Bench-1600`; a
  prompt there has several skills, so category is "advanced" when any advanced skill is tagged (else "basic") and
  `note` lists every skill.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genart_demo.errors import InputError

log = logging.getLogger("genart.leaderboard")

DATA_DIR = Path(__file__).parent / "data"
GENEVAL_FILE = "GenEval_evaluation_metadata.jsonl"
GENEVAL_TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
T2I_COMPBENCH_FILES = (  # (file under DATA_DIR, skill) in T2I-CompBench++'s order
    ("T2ICompBench_color_val.txt", "color"),
    ("T2ICompBench_shape_val.txt", "shape"),
    ("T2ICompBench_texture_val.txt", "texture"),
    ("T2ICompBench_spatial_val.txt", "2d-spatial"),
    ("T2ICompBench_3d_spatial_val.txt", "3d-spatial"),
    ("T2ICompBench_non_spatial_val.txt", "non-spatial"),
    ("T2ICompBench_numeracy_val.txt", "numeracy"),
    ("T2ICompBench_complex_val.txt", "complex"),
)
T2I_COMPBENCH_2023_COLOR = "T2ICompBench_color_val_orig2023.txt"
GENAI_BENCH_FILE = "GenAIBench_genai_image.json"
GENAI_BENCH_527 = "GenAI-Bench-527"
# Hub dataset read with online=True (linzhiqiu/t2v_metrics dataset.py, class GenAIBench_Image, fetches these two
# files at run time); its commit could not be seen from here, so "main" is read and the source names it.
GENAI_BENCH_HUB = ("BaiqiL/GenAI-Bench-1600", "main", "genai_image.json", "genai_skills.json")
GENAI_ADVANCED_SKILLS = (
    "counting",
    "comparison",
    "differentiation",
    "negation",
    "universal",
)  # genai_bench/evaluate.py


@dataclass(frozen=True)
class SuiteRows:
    """What a suite reader returns: (text, category, note) per prompt, the source and sha256 of what was read."""

    rows: list[tuple[str, str, str]]
    source: str
    sha256: str


def _files_digest(paths: list[Path]) -> str:
    """One sha256 for a suite read from several files: of the files' own sha256s, in order, one per line."""
    return hashlib.sha256(
        "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in paths).encode()
    ).hexdigest()


def _lines(path: Path) -> list[str]:
    """The file's prompts: every non-empty line, its CRLF or LF ending removed and nothing else changed."""
    return [line for line in path.read_bytes().decode("utf-8").splitlines() if line.strip()]


def _geneval(online: bool) -> SuiteRows:
    path = DATA_DIR / GENEVAL_FILE
    rows = [(row["prompt"], row["tag"], "") for row in _geneval_rows(path)]
    return SuiteRows(rows, str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def _geneval_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _t2i(color_file: str) -> Callable[[bool], SuiteRows]:
    def read(online: bool) -> SuiteRows:
        files = [(color_file if skill == "color" else name, skill) for name, skill in T2I_COMPBENCH_FILES]
        paths = [DATA_DIR / name for name, _ in files]
        rows = [(text, skill, "") for (_, skill), path in zip(files, paths) for text in _lines(path)]
        return SuiteRows(rows, ", ".join(str(p) for p in paths), _files_digest(paths))

    return read


def _genai_bench(online: bool) -> SuiteRows:
    if online:
        try:
            return _genai_bench_hub()
        except Exception as exc:  # noqa: BLE001  (offline, gone or unparsable: the bundled 527 are the set)
            log.warning("could not read GenAI-Bench-1600 from the Hub (%s: %s); using the bundled 527-prompt file",
                        type(exc).__name__, exc)  # fmt: skip
    path = DATA_DIR / GENAI_BENCH_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [(data[key]["prompt"], GENAI_BENCH_527, "") for key in sorted(data)]
    return SuiteRows(rows, str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def _genai_bench_hub() -> SuiteRows:
    from huggingface_hub import hf_hub_download  # lazy: only reaching the Hub needs it

    repo, revision, images_name, skills_name = GENAI_BENCH_HUB
    paths = [
        Path(hf_hub_download(repo, name, repo_type="dataset", revision=revision)) for name in (images_name, skills_name)
    ]
    prompts, skills = (json.loads(p.read_text(encoding="utf-8")) for p in paths)
    tagged: dict[str, list[str]] = {}
    for skill, indices in skills.items():
        for idx in indices:
            tagged.setdefault(f"{int(idx):05d}", []).append(skill)
    rows = []
    for key in sorted(prompts):
        names = [s for s in tagged.get(key, []) if s not in ("basic", "advanced")]
        level = "advanced" if any(s in GENAI_ADVANCED_SKILLS for s in names) else "basic"
        rows.append((prompts[key]["prompt"], level, ", ".join(names)))
    return SuiteRows(rows, f"hf://datasets/{repo}@{revision}/{images_name}+{skills_name}", _files_digest(paths))


SUITES: dict[str, Callable[[bool], SuiteRows]] = {
    "geneval": _geneval,
    "t2i-compbench": _t2i(T2I_COMPBENCH_FILES[0][0]),
    "t2i-compbench-2023": _t2i(T2I_COMPBENCH_2023_COLOR),
    "genai-bench": _genai_bench,
}


def read_suite(name: str, online: bool = False) -> SuiteRows:
    """The rows of suite `name` (a key of SUITES)."""
    if name not in SUITES:
        raise InputError(f"Unknown prompt suite {name!r}: use one of {', '.join(SUITES)}.")
    return SUITES[name](online)


@functools.cache
def geneval_metadata() -> dict[str, dict]:
    """Prompt text -> its GenEval metadata row (tag, include, exclude), from the bundled file (read once)."""
    return {row["prompt"]: row for row in _geneval_rows(DATA_DIR / GENEVAL_FILE)}


__all__ = ["GENEVAL_TAGS", "SUITES", "T2I_COMPBENCH_FILES", "SuiteRows", "geneval_metadata", "read_suite"]
