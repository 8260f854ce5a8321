"""Benchmark prompt sets (DrawBench, PartiPrompts, user .txt/.csv/.tsv files) with subsets, limits and stratified samples."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from genart_demo.errors import InputError
from genart_demo.tasks.common import MAX_PROMPT_CHARS, text_problem

from .prompt_suites import SUITES, read_suite

log = logging.getLogger("genart.leaderboard")

DATA_DIR = Path(__file__).parent / "data"  # bundled copies; provenance and sha256 in data/README.md
PROMPT_FILE_SUFFIXES = (".txt", ".csv", ".tsv")
PROMPT_COLUMNS = ("prompt", "prompts", "text", "caption")  # accepted prompt headers, any case, first match wins
USER_CATEGORY = "user"  # category of .txt prompts and of table rows without one


@dataclass(frozen=True)
class BuiltinSet:
    """A named benchmark: its bundled file, how to parse it, and where it lives on the Hub."""

    filename: str  # under DATA_DIR
    delimiter: str
    quoting: int  # csv.QUOTE_MINIMAL for DrawBench; csv.QUOTE_NONE for Parti (one prompt starts with a quote)
    hub_repo: str  # Hugging Face dataset id, tried only with online=True
    hub_filename: str
    hub_revision: str  # pinned commit, so an online load is reproducible


# What was checked (search of Hub pages, no network here):
# - nateraw/parti-prompts: the Hub file tree lists `PartiPrompts.tsv` (123 kB, same size as the bundled file)
#   at the repo root, uploaded in commit 95bc9691e49f199d3e1be71c5bc50f4f299d089a; later commits touch only
#   README.md. Byte identity with google-research/parti was NOT verified (sizes agree).
# - sayakpaul/drawbench: the file name `DrawBench Prompts - Sheet1.csv` (columns Prompts, Category) and commit
#   ad794cba698c253ffdb6d18eff3fc87b004c1135 come from two third-party scripts that download it; the Hub tree
#   page itself was not seen, and its bytes were not compared with the bundled file.
# Any failure (offline, missing file, unparsable) falls back to the bundled copy; PromptSet.source says which.
BUILTIN_SETS: dict[str, BuiltinSet] = {
    "drawbench": BuiltinSet(
        "DrawBench.csv",
        ",",
        csv.QUOTE_MINIMAL,
        "sayakpaul/drawbench",
        "DrawBench Prompts - Sheet1.csv",
        "ad794cba698c253ffdb6d18eff3fc87b004c1135",
    ),
    "parti": BuiltinSet(
        "PartiPrompts.tsv",
        "\t",
        csv.QUOTE_NONE,
        "nateraw/parti-prompts",
        "PartiPrompts.tsv",
        "95bc9691e49f199d3e1be71c5bc50f4f299d089a",
    ),
}


@dataclass(frozen=True)
class PromptItem:
    """One prompt. `text` is exactly as in the file (only the line ending removed): it is what gets generated."""

    id: str  # "<set>-<index in file>", zero-padded, e.g. "drawbench-007", "parti-0042"; never renumbered
    text: str
    category: str  # whitespace-stripped label ("Gary Marcus et al." although DrawBench's cell ends in a space)
    challenge: str  # "" when the set has none (DrawBench, .txt files)
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        """The prompts.jsonl row: id, text, category, challenge, note."""
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> PromptItem:
        """Inverse of `as_dict` (extra keys are ignored)."""
        return cls(
            str(row["id"]),
            str(row["text"]),
            str(row.get("category", "")),
            str(row.get("challenge", "")),
            str(row.get("note", "")),
        )


@dataclass(frozen=True)
class PromptSet:
    """An ordered set of prompts. Subsets keep name, source, sha256 (of the whole source file) and the item ids."""

    name: str  # "drawbench" | "parti" | slug of a user file's stem
    source: str  # file path, or "hf://datasets/<repo>@<revision>/<file>" when read from the Hub
    sha256: str  # of the source file's bytes
    items: tuple[PromptItem, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PromptItem]:
        return iter(self.items)

    def categories(self) -> dict[str, int]:
        """Prompt count per category, in order of first appearance."""
        return dict(Counter(item.category for item in self.items))

    def challenges(self) -> dict[str, int]:
        """Prompt count per challenge, in order of first appearance; {} when the set has no challenges."""
        return dict(Counter(item.challenge for item in self.items if item.challenge))

    def subset(
        self, categories: str | Iterable[str] | None = None, challenges: str | Iterable[str] | None = None
    ) -> PromptSet:
        """Prompts in any of `categories` AND any of `challenges` (names matched case-insensitively)."""
        keep = list(self.items)
        for field, wanted, valid in (
            ("category", categories, self.categories()),
            ("challenge", challenges, self.challenges()),
        ):
            if wanted is None:
                continue
            names = _canonical_names(field, wanted, valid, self.name)
            keep = [item for item in keep if getattr(item, field) in names]
        if not keep:
            raise InputError(
                f"No prompt in {self.name} has category {categories!r} and challenge {challenges!r}; "
                "pick a combination with prompts (see the counts per category and challenge)."
            )
        return replace(self, items=tuple(keep))

    def limit(self, n: int) -> PromptSet:
        """The first `n` prompts in file order (the whole set when n >= its size)."""
        return replace(self, items=self.items[: _check_count(n, "limit")])

    def stratified(self, n: int, seed: int = 0) -> PromptSet:
        """About n * share of each category, at least 1 per category when n >= #categories, in file order.

        Per-category counts come from `stratified_allocation` (largest remainder); within a category the
        prompts with the smallest sha256(f"{seed}:{id}") are taken, so a given seed picks the same prompts on
        every platform and Python version. n >= the set's size returns the whole set.
        """
        n = _check_count(n, "stratified sample size")
        if n >= len(self.items):
            return self
        allocation = stratified_allocation(self.categories(), n)
        chosen: set[str] = set()
        for category, k in allocation.items():
            members = [item.id for item in self.items if item.category == category]
            members.sort(key=lambda pid: hashlib.sha256(f"{int(seed)}:{pid}".encode()).digest())
            chosen.update(members[:k])
        return replace(self, items=tuple(item for item in self.items if item.id in chosen))


def stratified_allocation(sizes: dict[str, int], n: int) -> dict[str, int]:
    """How many of n to draw from each group, proportional to `sizes` (Hamilton / largest remainder).

    When n >= number of groups every group gets at least 1: groups whose share n * size / total is below 1
    are fixed at 1 and the rest of n is shared out again among the others, until no share is below 1.
    Ties in the remainders go to the larger group, then to the earlier one. Sums to min(n, total).
    """
    total = sum(sizes.values())
    n = min(n, total)
    fixed: dict[str, int] = {}
    if n >= len(sizes):
        while True:
            free = {g: s for g, s in sizes.items() if g not in fixed}
            budget, pool = n - len(fixed), sum(free.values())
            small = [g for g, s in free.items() if budget * s < pool]  # share below 1
            if not small:
                break
            fixed.update({g: 1 for g in small})
    free = {g: s for g, s in sizes.items() if g not in fixed}
    budget, pool = n - len(fixed), sum(free.values())
    quotas = {g: budget * s / pool for g, s in free.items()} if pool else {}
    counts = {g: math.floor(q) for g, q in quotas.items()}
    order = list(sizes)
    by_remainder = sorted(quotas, key=lambda g: (-(quotas[g] - counts[g]), -sizes[g], order.index(g)))
    for g in by_remainder[: budget - sum(counts.values())]:
        counts[g] += 1
    return {g: fixed.get(g, counts.get(g, 0)) for g in order}


def prompt_set_names() -> tuple[str, ...]:
    """Every named set load_prompt_set knows: the category benchmarks, then the skill-tagged suites."""
    return (*BUILTIN_SETS, *SUITES)


def load_prompt_set(name_or_path: str | Path, *, online: bool = False) -> PromptSet:
    """A named set of prompt_set_names() (bundled copy; with online=True the Hub first), or a .txt/.csv/.tsv path."""
    key = str(name_or_path).strip().lower()
    if key in BUILTIN_SETS:
        return _load_builtin(key, online)
    if key in SUITES:
        suite = read_suite(key, online)
        items = _numbered(key, [(text, category, "", note) for text, category, note in suite.rows])
        _check_texts(suite.source, items, range(1, len(items) + 1))
        return PromptSet(key, suite.source, suite.sha256, items)
    path = Path(name_or_path).expanduser()
    suffix = path.suffix.lower()
    if not path.exists():
        if suffix in PROMPT_FILE_SUFFIXES:
            raise InputError(f"Prompt file not found: {path}")
        raise InputError(
            f"Unknown prompt set {str(name_or_path)!r}: use one of {', '.join(prompt_set_names())}, "
            f"or the path of a {_suffix_list()} file of prompts."
        )
    if not path.is_file():
        raise InputError(f"{path} is not a file: pass a {_suffix_list()} file of prompts.")
    if suffix not in PROMPT_FILE_SUFFIXES:
        raise InputError(
            f"Unsupported prompt file type {suffix or '(no extension)'!r} for {path}: use a {_suffix_list()} file."
        )
    data = path.read_bytes()
    name = _slug(path.stem)
    if suffix == ".txt":
        items = _items_from_txt(_decode(data, path), name, path)
    else:
        delimiter, quoting = ("\t", csv.QUOTE_NONE) if suffix == ".tsv" else (",", csv.QUOTE_MINIMAL)
        items = _items_from_table(_decode(data, path), name, path, delimiter, quoting)
    return PromptSet(name, str(path), hashlib.sha256(data).hexdigest(), items)


def _load_builtin(key: str, online: bool) -> PromptSet:
    spec = BUILTIN_SETS[key]
    if online:
        try:
            path = _hub_file(spec.hub_repo, spec.hub_filename, spec.hub_revision)
            data = Path(path).read_bytes()
            items = _items_from_table(_decode(data, path), key, path, spec.delimiter, spec.quoting)
            source = f"hf://datasets/{spec.hub_repo}@{spec.hub_revision}/{spec.hub_filename}"
            return PromptSet(key, source, hashlib.sha256(data).hexdigest(), items)
        except Exception as exc:  # noqa: BLE001  (offline, gone or unparsable: the bundled copy is the set)
            log.warning(
                "could not read %s from the Hub (%s: %s); using the bundled %s",
                spec.hub_repo,
                type(exc).__name__,
                exc,
                spec.filename,
            )
    path = DATA_DIR / spec.filename
    data = path.read_bytes()
    items = _items_from_table(_decode(data, path), key, path, spec.delimiter, spec.quoting)
    return PromptSet(key, str(path), hashlib.sha256(data).hexdigest(), items)


def _hub_file(repo_id: str, filename: str, revision: str) -> str:
    """Local path of a Hub dataset file (downloads unless cached; raises when offline and not cached)."""
    from huggingface_hub import hf_hub_download  # lazy: only reaching the Hub needs it

    return hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision)


def _items_from_txt(text: str, name: str, path: Path) -> tuple[PromptItem, ...]:
    lines = re.split(r"\r\n|\r|\n", text)  # Windows, old Mac (CR only) and Unix line endings alike
    numbered = [
        (n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise InputError(
            f"{path} has no prompts (it is empty, or has only blank lines and # comments): write one prompt per line."
        )
    items = _numbered(name, [(p, USER_CATEGORY, "", "") for _, p in numbered])
    _check_texts(path, items, [n for n, _ in numbered])
    return items


def _check_texts(path: Path | str, items: Sequence[PromptItem], lines: Sequence[int]) -> None:
    """Refuse, at load and naming its id and line, a prompt no task would take (too long, or not encodable), so a
    run never stops midway on it."""
    for item, line in zip(items, lines):
        problem = text_problem(item.text, "prompt")
        if problem:
            raise InputError(f"{path}, line {line} ({item.id}): {problem}")


def _items_from_table(text: str, name: str, path: Path | str, delimiter: str, quoting: int) -> tuple[PromptItem, ...]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    rows, row_lines = [], []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                row_lines.append(reader.line_num)
    except csv.Error as exc:  # e.g. a field past csv's 131,072-character limit: far longer than any prompt may be
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise InputError(
            f"{path}, line {reader.line_num}: cannot be read as {kind} ({exc}); "
            f"a prompt may be at most {MAX_PROMPT_CHARS:,} characters."
        ) from None
    if not rows:
        raise InputError(f"{path} is empty: it needs a header row with a prompt column, then one prompt per row.")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(c) for c in PROMPT_COLUMNS if c in header), None)
    if column is None:
        raise InputError(
            f"{path} has no prompt column: found columns {', '.join(map(repr, rows[0]))}; "
            f"accepted (any case): {', '.join(PROMPT_COLUMNS)}."
        )
    optional = {f: header.index(f) if f in header else None for f in ("category", "challenge", "note")}
    records, kept_lines = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            raise InputError(
                f"{path}: row {line} has {len(row)} fields but the header has {len(header)}; "
                "quote fields that contain the delimiter."
            )
        cells = row + [""] * (len(header) - len(row))
        if not cells[column].strip():
            continue
        category = cells[optional["category"]].strip() if optional["category"] is not None else ""
        challenge = cells[optional["challenge"]].strip() if optional["challenge"] is not None else ""
        note = cells[optional["note"]] if optional["note"] is not None else ""
        records.append((cells[column], category or USER_CATEGORY, challenge, note))
        kept_lines.append(row_lines[line - 1])
    if not records:
        raise InputError(f"{path} has a header but no prompts: add one prompt per row under {rows[0][column]!r}.")
    items = _numbered(name, records)
    _check_texts(path, items, kept_lines)
    return items


def _numbered(name: str, records: list[tuple[str, str, str, str]]) -> tuple[PromptItem, ...]:
    width = max(3, len(str(len(records) - 1)))  # drawbench-000..199, parti-0000..1631
    return tuple(PromptItem(f"{name}-{i:0{width}d}", *record) for i, record in enumerate(records))


def _canonical_names(field: str, wanted: str | Iterable[str], valid: dict[str, int], set_name: str) -> set[str]:
    if not valid:
        raise InputError(f"{set_name} has no {field} labels to filter by.")
    lookup = {name.lower(): name for name in valid}
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [w for w in wanted if str(w).strip().lower() not in lookup]
    if unknown or not wanted:
        plural = "categories" if field == "category" else "challenges"
        raise InputError(
            f"Unknown {field} {', '.join(map(repr, unknown)) or '(none given)'} for {set_name}; "
            f"valid {plural}: {', '.join(valid)}."
        )
    return {lookup[str(w).strip().lower()] for w in wanted}


def _check_count(n: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"The {what} must be a whole number >= 1, got {n!r}.")
    return n


def _decode(data: bytes, path: Path | str) -> str:
    try:
        return data.decode("utf-8-sig")  # a BOM from spreadsheet exports is dropped
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8.") from exc


def _slug(stem: str) -> str:
    """Prompt ids become file names, so a user set's name keeps only [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_]+", "-", stem.lower()).strip("-") or "user"


def _suffix_list() -> str:
    return "/".join(PROMPT_FILE_SUFFIXES)
