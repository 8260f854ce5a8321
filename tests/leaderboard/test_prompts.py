"""Tests for leaderboard.prompts: bundled DrawBench/Parti files, user prompt files, subsets and samples."""

import hashlib
import re
from pathlib import Path

import pytest

from genart_demo.errors import InputError
from leaderboard import prompts
from leaderboard.prompts import PromptItem, load_prompt_set, stratified_allocation

SHARED_README = Path(__file__).resolve().parents[3] / "shared" / "prompts" / "README.md"

DRAWBENCH_CATEGORIES = {  # /work/shared/prompts/README.md
    "Colors": 25,
    "Conflicting": 10,
    "Counting": 19,
    "DALL-E": 20,
    "Descriptions": 20,
    "Gary Marcus et al.": 10,
    "Misspellings": 10,
    "Positional": 20,
    "Rare Words": 7,
    "Reddit": 38,
    "Text": 21,
}
PARTI_CATEGORIES = {
    "Abstract": 51,
    "Animals": 314,
    "Artifacts": 287,
    "Arts": 66,
    "Food & Beverage": 74,
    "Illustrations": 124,
    "Indoor Scenes": 40,
    "Outdoor Scenes": 131,
    "People": 177,
    "Produce & Plants": 50,
    "Vehicles": 104,
    "World Knowledge": 214,
}
PARTI_CHALLENGES = {
    "Basic": 272,
    "Complex": 113,
    "Fine-grained Detail": 312,
    "Imagination": 150,
    "Linguistic Structures": 61,
    "Perspective": 70,
    "Properties & Positioning": 35,
    "Quantity": 90,
    "Simple Detail": 232,
    "Style & Format": 206,
    "Writing & Symbols": 91,
}
QUOTED = (
    '"G I G G L E" painted in thick colorful lettering as graffiti on a faded red brick wall with a splotch '
    "of exploding white paint."
)


@pytest.fixture(scope="module")
def drawbench():
    return load_prompt_set("drawbench")


@pytest.fixture(scope="module")
def parti():
    return load_prompt_set("parti")


def _readme_sha256(readme: Path, filename: str) -> str:
    section = readme.read_text(encoding="utf-8").split(f"## {filename}")[1].split("\n## ")[0]
    return re.search(r"sha256: `([0-9a-f]{64})`", section).group(1)


@pytest.mark.parametrize("filename", ["DrawBench.csv", "PartiPrompts.tsv"])
def test_bundled_file_matches_readme_sha256(filename):
    digest = hashlib.sha256((prompts.DATA_DIR / filename).read_bytes()).hexdigest()
    assert digest == _readme_sha256(prompts.DATA_DIR / "README.md", filename)
    if SHARED_README.exists():  # the provenance notes the bundled README was copied from
        assert digest == _readme_sha256(SHARED_README, filename)


def test_drawbench_counts_ids_and_hash(drawbench):
    assert (drawbench.name, len(drawbench)) == ("drawbench", 200)
    assert drawbench.categories() == DRAWBENCH_CATEGORIES
    assert drawbench.challenges() == {}
    assert [item.id for item in drawbench] == [f"drawbench-{i:03d}" for i in range(200)]
    assert drawbench.sha256 == hashlib.sha256((prompts.DATA_DIR / "DrawBench.csv").read_bytes()).hexdigest()
    assert drawbench.items[0] == PromptItem("drawbench-000", "A red colored car.", "Colors", "")
    assert sum("," in item.text for item in drawbench) > 0  # quoted fields with commas stay whole
    assert all(item.text == item.text.strip() for item in drawbench)
    assert any("Schönhausen" in item.text for item in drawbench)


def test_parti_counts_ids_and_notes(parti):
    assert (parti.name, len(parti)) == ("parti", 1632)
    assert parti.categories() == PARTI_CATEGORIES
    assert parti.challenges() == PARTI_CHALLENGES
    assert [item.id for item in parti] == [f"parti-{i:04d}" for i in range(1632)]
    assert sum(bool(item.note) for item in parti) == 190
    assert parti.items[0] == PromptItem(
        "parti-0000", "bond", "Abstract", "Basic", "Biology-inspired concepts with multiple meanings"
    )


def test_parti_text_verbatim_against_raw_split(parti):
    """Quoting off: every field equals a plain tab split of its line, quotes and outer spaces included."""
    lines = (prompts.DATA_DIR / "PartiPrompts.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    assert [tuple(line.split("\t")) for line in lines] == [
        (item.text, item.category, item.challenge, item.note) for item in parti
    ]
    quoted = [item for item in parti if item.text.startswith('"')]
    assert [(item.id, item.text) for item in quoted] == [("parti-1560", QUOTED)]
    padded = [item.text for item in parti if item.text != item.text.strip()]
    assert len(padded) == 10
    assert " A sloth in a go kart on a race track." in padded[3]
    assert padded[3].startswith(" A sloth") and padded[4] == "a two lane road with a bright yellow line "


def test_online_falls_back_to_bundled_when_offline(parti, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    online = load_prompt_set("parti", online=True)
    assert online.source == str(prompts.DATA_DIR / "PartiPrompts.tsv")
    assert online.items == parti.items and online.sha256 == parti.sha256


def test_online_uses_hub_file_when_available(tmp_path, monkeypatch):
    hub_copy = tmp_path / "DrawBench Prompts - Sheet1.csv"
    hub_copy.write_bytes((prompts.DATA_DIR / "DrawBench.csv").read_bytes())
    monkeypatch.setattr(prompts, "_hub_file", lambda repo, filename, revision: str(hub_copy))
    got = load_prompt_set("drawbench", online=True)
    assert got.source.startswith("hf://datasets/sayakpaul/drawbench@")
    assert got.categories() == DRAWBENCH_CATEGORIES
    hub_copy.write_text("nothing,useful\n1,2\n", encoding="utf-8")  # unparsable -> bundled copy
    assert load_prompt_set("drawbench", online=True).source == str(prompts.DATA_DIR / "DrawBench.csv")


def test_subset_by_category_and_challenge(parti, drawbench):
    colors = drawbench.subset(categories="colors")
    assert colors.categories() == {"Colors": 25}
    assert colors.items == drawbench.items[:25]
    both = parti.subset(categories=["animals", "Indoor Scenes"], challenges=["BASIC", "quantity"])
    lines = (prompts.DATA_DIR / "PartiPrompts.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    expected = [
        f"parti-{i:04d}"
        for i, line in enumerate(lines)
        if line.split("\t")[1] in ("Animals", "Indoor Scenes") and line.split("\t")[2] in ("Basic", "Quantity")
    ]
    assert [item.id for item in both] == expected and len(expected) > 0
    assert (both.name, both.sha256, both.source) == (parti.name, parti.sha256, parti.source)
    assert parti.subset(challenges="Writing & Symbols").challenges() == {"Writing & Symbols": 91}


def test_subset_refusals(parti, drawbench):
    with pytest.raises(InputError, match=r"Unknown category 'Colours'.*valid categories: Colors, Conflicting"):
        drawbench.subset(categories=["Colours"])
    with pytest.raises(InputError, match=r"Unknown challenge 'Speed'.*Basic.*Writing & Symbols"):
        parti.subset(challenges="Speed")
    with pytest.raises(InputError, match="drawbench has no challenge labels"):
        drawbench.subset(challenges="Basic")
    with pytest.raises(InputError, match="No prompt in parti has category"):
        parti.subset(categories="Abstract", challenges="Complex")  # Abstract prompts are never "Complex"


def test_limit(drawbench):
    assert drawbench.limit(7).items == drawbench.items[:7]
    assert drawbench.limit(10_000).items == drawbench.items
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="limit must be a whole number >= 1"):
            drawbench.limit(bad)


@pytest.mark.parametrize("n", [1, 5, 10, 11, 12, 20, 50, 100, 199, 200])
def test_stratified_allocation_sums_and_floors(drawbench, parti, n):
    for prompt_set in (drawbench, parti):
        sizes = prompt_set.categories()
        counts = stratified_allocation(sizes, n)
        assert sum(counts.values()) == n and set(counts) == set(sizes)
        assert all(0 <= counts[c] <= sizes[c] for c in sizes)
        if n >= len(sizes):
            assert min(counts.values()) >= 1


@pytest.mark.parametrize("n", [50, 100, 150])
def test_stratified_is_proportional_within_one(drawbench, parti, n):
    """For these n no category's share is below 1, so every count is within 1 of n * size / total."""
    for prompt_set in (drawbench, parti):
        sample = prompt_set.stratified(n, seed=3)
        total, got = len(prompt_set), sample.categories()
        assert len(sample) == n
        for category, size in prompt_set.categories().items():
            assert abs(got.get(category, 0) - n * size / total) < 1


def test_stratified_known_allocations(drawbench, parti):
    # By hand: shares are size / 10; Rare Words (0.7) is fixed at 1, leaving 19 of 193 prompts, where
    # Conflicting, Gary Marcus and Misspellings (19 * 10 / 193 = 0.98) fall below 1 and are fixed too; 16 left
    # for 163: Colors 2.45, Counting 1.87, DALL-E/Descriptions/Positional 1.96, Reddit 3.73, Text 2.06 -> floors
    # sum to 11 and the 5 largest remainders (.96 x3, .87, .73) get one more each.
    assert stratified_allocation(drawbench.categories(), 20) == {
        "Colors": 2,
        "Conflicting": 1,
        "Counting": 2,
        "DALL-E": 2,
        "Descriptions": 2,
        "Gary Marcus et al.": 1,
        "Misspellings": 1,
        "Positional": 2,
        "Rare Words": 1,
        "Reddit": 4,
        "Text": 2,
    }
    assert set(stratified_allocation(parti.categories(), 12).values()) == {1}
    assert stratified_allocation(drawbench.categories(), 1) == {**dict.fromkeys(DRAWBENCH_CATEGORIES, 0), "Reddit": 1}


def test_stratified_deterministic_ordered_and_keeps_ids(parti, drawbench):
    a, b, c = parti.stratified(60, seed=0), parti.stratified(60, seed=0), parti.stratified(60, seed=1)
    assert a.items == b.items
    assert a.items != c.items and len(c) == 60
    assert a.categories() == c.categories()  # the allocation does not depend on the seed
    ids = [item.id for item in a]
    assert ids == sorted(ids)  # file order (zero-padded ids sort as they appear)
    by_id = {item.id: item for item in parti}
    assert all(by_id[item.id] == item for item in a)
    assert parti.stratified(5000).items == parti.items
    assert drawbench.stratified(11, seed=7).categories() == dict.fromkeys(DRAWBENCH_CATEGORIES, 1)
    with pytest.raises(InputError, match="stratified sample size must be a whole number >= 1"):
        parti.stratified(0)


def test_user_txt(tmp_path):
    path = tmp_path / "My Prompts!.txt"
    path.write_bytes(b"# my prompts\n\na cat \r\n  # indented comment\n  a dog\n\n\nan owl at night")
    got = load_prompt_set(str(path))
    assert got.name == "my-prompts"
    assert got.items == (
        PromptItem("my-prompts-000", "a cat ", "user", ""),
        PromptItem("my-prompts-001", "  a dog", "user", ""),
        PromptItem("my-prompts-002", "an owl at night", "user", ""),
    )
    assert got.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and got.source == str(path)


def test_user_csv_and_tsv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        '\ufeffID,Caption,CATEGORY,Note\n1,"a red car, parked",cars,n1\n2,a bus,,\n3,,skipped,\n', encoding="utf-8"
    )
    got = load_prompt_set(path)
    assert got.items == (
        PromptItem("mine-000", "a red car, parked", "cars", "", "n1"),
        PromptItem("mine-001", "a bus", "user", "", ""),
    )
    tsv = tmp_path / "mine2.tsv"
    tsv.write_text('text\tchallenge\n"quoted" start\tBasic\n', encoding="utf-8")
    assert load_prompt_set(tsv).items == (PromptItem("mine2-000", '"quoted" start', "user", "Basic"),)
    assert load_prompt_set(tsv).challenges() == {"Basic": 1}


@pytest.mark.parametrize(
    "filename, content, message",
    [
        ("empty.txt", "", r"empty.txt has no prompts \(it is empty, or has only blank lines and # comments\)"),
        ("comments.txt", "# a\n\n   \n#b\n", "comments.txt has no prompts"),
        ("empty.csv", "\n\n", "empty.csv is empty: it needs a header row with a prompt column"),
        ("header.csv", "prompt,category\n", "header.csv has a header but no prompts"),
        (
            "cols.csv",
            "Title,Category\na cat,x\n",
            r"cols.csv has no prompt column: found columns 'Title', 'Category'; accepted \(any case\): prompt, prompts",
        ),
        ("wide.csv", "prompt\na, b,c\n", "wide.csv: row 2 has 3 fields but the header has 1"),
        ("data.json", "[]", r"Unsupported prompt file type '.json'.*use a .txt/.csv/.tsv file"),
    ],
)
def test_bad_prompt_files(tmp_path, filename, content, message):
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_prompt_set(path)


def test_bad_names_and_paths(tmp_path):
    with pytest.raises(
        InputError,
        match=r"Unknown prompt set 'drawbenh': use one of drawbench, parti, geneval, t2i-compbench, "
        r"t2i-compbench-2023, genai-bench, or the "
        r"path of a .txt/.csv/.tsv file",
    ):
        load_prompt_set("drawbenh")
    with pytest.raises(InputError, match="Prompt file not found: .*missing.csv"):
        load_prompt_set(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is not a file"):
        load_prompt_set(tmp_path)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Schönhausen".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.txt is not UTF-8 text"):
        load_prompt_set(latin1)
    assert load_prompt_set(" DrawBench ").name == "drawbench"


def test_prompt_item_dict_roundtrip(parti):
    item = parti.items[1560]
    assert PromptItem.from_dict(item.as_dict()) == item
    assert set(item.as_dict()) == {"id", "text", "category", "challenge", "note"}
