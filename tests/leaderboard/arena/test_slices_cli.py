"""`genart arena ratings --by category` and `--rater ID` on a SQLite store filled in-process."""

import json
import time
import uuid

from leaderboard.arena.store import ArenaStore, Battle


def _fill(url: str, rows: list[tuple[str, str, str, str, tuple[str, ...], str]]) -> None:
    """One committed blind vote per (model_a, model_b, outcome, prompt, tags, rater), each seen 10 s before it."""
    store = ArenaStore(url)
    try:
        now = time.time()
        for model_a, model_b, outcome, prompt, tags, rater in rows:
            battle = Battle(
                id=uuid.uuid4().hex,
                task="text-to-image",
                mode="anonymous",
                model_a=model_a,
                model_b=model_b,
                prompt=prompt,
                seed=0,
                outputs_a=("a.png",),
                outputs_b=("b.png",),
                rater=rater,
                created_at=now - 10,
                expires_at=now + 600,
                settings={"tags": list(tags)} if tags else {},
            )
            store.add_battle(battle)
            store.record_vote(battle.id, rater, outcome, now=now)
    finally:
        store.close()


def _sides(i: int, winner: str, loser: str, prompt: str, tags: tuple[str, ...], rater: str):
    """A vote for `winner` over `loser`, shown left on even i and right on odd i (a rater always voting for one
    side would be flagged and left out of the slices)."""
    return (winner, loser, "a", prompt, tags, rater) if i % 2 == 0 else (loser, winner, "b", prompt, tags, rater)


def test_ratings_by_category_and_a_raters_own(genart_cli, tmp_path):
    db = f"sqlite:///{tmp_path / 'arena.db'}"
    # one pair per category: raters disagreeing on one pair would be flagged by the consensus check
    pair = ("sd15", "sd-turbo")
    colors = [_sides(i, *(pair if i % 10 else pair[::-1]), "A red colored car.", (), "anon:ada") for i in range(20)]
    pair = ("ldm-text2im", "sd-turbo")
    owls = [_sides(i, *(pair if i % 10 else pair[::-1]), "an owl", ("birds",), "anon:bob") for i in range(29)]
    _fill(db, colors + owls)
    done = genart_cli("arena", "ratings", "--db", db, "--by", "category", "--json", "--rounds", "20")
    assert done.returncode == 0, done.stderr
    rows = {(r["category"], r["model"]): r for r in json.loads(done.stdout)}
    assert set(rows) == {("Colors", "sd15"), ("Colors", "sd-turbo"), ("birds", "ldm-text2im"), ("birds", "sd-turbo")}
    assert rows["Colors", "sd15"]["rank"] == 1 and rows["Colors", "sd15"]["votes"] == 20
    assert rows["birds", "ldm-text2im"]["rating"] > rows["birds", "sd-turbo"]["rating"]
    text = genart_cli("arena", "ratings", "--db", db, "--by", "category", "--rounds", "0").stdout
    assert text.splitlines()[0].split()[:3] == ["category", "model", "rating"] and "Colors" in text

    early = genart_cli("arena", "ratings", "--db", db, "--rater", "anon:bob")
    assert early.returncode == 0 and early.stdout.strip() == "You have 29 votes: 1 more vote to see your own ratings."
    _fill(db, owls[:1])
    ready = json.loads(genart_cli("arena", "ratings", "--db", db, "--rater", "anon:bob", "--json").stdout)
    assert (ready["votes"], ready["needed"]) == (30, 0)
    assert {r["model"]: r["wins"] for r in ready["ratings"]} == {"ldm-text2im": 26, "sd-turbo": 4}
    both = genart_cli("arena", "ratings", "--db", db, "--rater", "anon:bob", "--by", "category")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
