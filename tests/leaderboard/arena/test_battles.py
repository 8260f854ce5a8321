"""The arena service on tiny stand-ins: blind and named battles, tokens, void battles, instant battles, ratings, and
the pair each battle shows (where the votes leave the ranking unsure)."""

import dataclasses
import inspect
import random
import uuid
from collections import Counter
from pathlib import Path

import pytest

from genart_demo.errors import InputError
from genart_demo.studio import Studio
from leaderboard.arena.battles import MAX_PROMPT_CHARS, Arena, BattleFailed, check_prompt, export_votes, rater_id
from leaderboard.arena.image_measures import generation_seconds
from leaderboard.arena.sampling import sample_pair
from leaderboard.arena.store import ArenaStore, Battle, VoteRefused

MODELS = ("sd15", "sd-turbo")


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def arena(studio, tmp_path):
    """An arena over the session's stand-ins, on its own SQLite file and output folder."""
    settings = dataclasses.replace(
        studio.settings, output_dir=tmp_path / "out", arena_models=MODELS, arena_token_ttl_s=60.0, db_url=""
    )
    local = Studio(settings, studio.registry, studio.cache, True, "tests")
    made = Arena.open(local)
    made.clock = Clock()
    made.rng.seed(7)
    yield made
    made.store.close()


def test_prompts_are_checked():
    assert check_prompt("  a cat  ") == "a cat"
    for bad in ("", "   ", None):
        with pytest.raises(InputError, match="empty"):
            check_prompt(bad)
    with pytest.raises(InputError, match=f"at most {MAX_PROMPT_CHARS:,} are allowed"):
        check_prompt("x" * (MAX_PROMPT_CHARS + 1))


def test_rater_ids_never_hold_the_address():
    salt = b"s" * 32
    anon = rater_id(salt, client="203.0.113.7", session="abc")
    assert anon.startswith("anon:") and "203.0.113.7" not in anon
    assert anon == rater_id(salt, client="203.0.113.7", session="abc")
    assert anon != rater_id(b"t" * 32, client="203.0.113.7", session="abc")  # salted
    assert rater_id(salt, username="ada", client="203.0.113.7") == "hf:ada"


def test_blind_battle_hides_names_until_the_vote(arena):
    view = arena.start_battle("text-to-image", "a red fox", "anon:r1")
    assert view.models is None and view.mode == "anonymous"
    for path in (*view.outputs_a, *view.outputs_b):
        assert path.is_file() and not any(m in path.name for m in MODELS)  # served file names never name a model
        assert generation_seconds(path) > 0  # timed when made: a covariate of the controlled ratings
    assert arena.store.vote_count() == 0
    reveal = arena.vote(view.token, "a", "anon:r1")
    assert {reveal.vote.model_a, reveal.vote.model_b} == set(MODELS)
    assert reveal.vote.outcome == "a" and reveal.vote.mode == "anonymous"
    assert reveal.vote.model_a in reveal.text() and reveal.vote.model_b in reveal.text()
    assert arena.store.vote_count() == 1


def test_bad_votes_are_refused_and_write_nothing(arena):
    view = arena.start_battle("text-to-image", "a lighthouse", "anon:r1")
    forged = view.token[:-3] + ("AAA" if not view.token.endswith("AAA") else "BBB")
    cases = [
        (forged, "anon:r1", "forged"),
        ("not-a-token", "anon:r1", "forged"),
        ("", "anon:r1", "forged"),
        (view.token, "anon:someone-else", "foreign"),
    ]
    for token, rater, reason in cases:
        with pytest.raises(VoteRefused) as err:
            arena.vote(token, "b", rater)
        assert err.value.reason == reason
    with pytest.raises(InputError, match="allowed: a, b, tie, bothbad"):
        arena.vote(view.token, "left", "anon:r1")
    assert arena.store.vote_count() == 0
    arena.vote(view.token, "tie", "anon:r1")
    with pytest.raises(VoteRefused) as err:  # the same token again: single use
        arena.vote(view.token, "a", "anon:r1")
    assert err.value.reason == "replayed" and arena.store.vote_count() == 1
    late = arena.start_battle("text-to-image", "a lighthouse", "anon:r1")
    arena.clock.now += 61  # past the 60 s token lifetime
    with pytest.raises(VoteRefused) as err:
        arena.vote(late.token, "a", "anon:r1")
    assert err.value.reason == "expired" and arena.store.vote_count() == 1


def test_a_failed_model_voids_the_battle(arena, monkeypatch):
    real = arena.output_paths
    calls = []

    def second_fails(task, model, prompt, seed, progress=None, **given):
        calls.append(model)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return real(task, model, prompt, seed, progress, **given)

    monkeypatch.setattr(arena, "output_paths", second_fails)
    with pytest.raises(BattleFailed, match="void"):
        arena.start_battle("text-to-image", "a bridge", "anon:r1")
    (battle,) = arena.store.battles()
    assert battle.status == "void" and "out of memory" in battle.void_reason
    assert arena.store.vote_count() == 0 and arena.ratings().empty


def test_outputs_are_made_once_per_model_prompt_and_seed(arena):
    first = arena.output_paths("text-to-image", "sd15", "a cup", 3)
    stamp = (arena.studio.settings.output_dir / first[0]).stat().st_mtime_ns
    assert arena.output_paths("text-to-image", "sd15", "a cup", 3) == first
    assert (arena.studio.settings.output_dir / first[0]).stat().st_mtime_ns == stamp
    assert arena.output_paths("text-to-image", "sd-turbo", "a cup", 3) != first


def test_on_zerogpu_each_model_generates_under_spaces_gpu(arena, monkeypatch):
    """On ZeroGPU hardware a battle's two generations each run in a `spaces.GPU` call asking for the estimate of
    that model at its default steps and size; elsewhere `spaces` is never used (the tests above)."""
    import sys
    import types

    from genart_demo.zerogpu import estimate_seconds

    asked = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda duration: lambda fn: lambda: asked.append(duration) or fn()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setattr(arena.studio, "settings", dataclasses.replace(arena.studio.settings, zerogpu=True))
    view = arena.start_battle("text-to-image", "a lantern", "anon:r1")
    assert all(p.is_file() for p in (*view.outputs_a, *view.outputs_b))
    reveal = arena.vote(view.token, "a", "anon:r1")
    specs = [arena.studio.registry.get(m) for m in (reveal.vote.model_a, reveal.vote.model_b)]
    assert asked == [estimate_seconds(s, s.defaults.steps, s.defaults.width, s.defaults.height) for s in specs]


def test_named_votes_stay_out_of_the_ratings_unless_asked(arena):
    with pytest.raises(InputError, match="two different"):
        arena.named_battle("text-to-image", "sd15", "sd15", "a cat", "anon:r1")
    with pytest.raises(InputError, match="not in the text-to-image arena"):
        arena.named_battle("text-to-image", "sd15", "sdxl-base", "a cat", "anon:r1")
    view = arena.named_battle("text-to-image", "sd15", "sd-turbo", "a cat", "anon:r1")
    assert view.models == ("sd15", "sd-turbo")
    assert arena.vote(view.token, "a", "anon:r1").vote.mode == "named"
    assert arena.ratings(min_votes=1).empty
    table = arena.ratings(include_named=True, min_votes=1)
    assert set(table["model"]) == set(MODELS)
    assert table.set_index("model").loc["sd15", "wins"] == 1


def test_instant_battles_come_from_leaderboard_runs(arena, tmp_path):
    with pytest.raises(InputError, match="No pre-generated battles"):
        arena.instant_battle("text-to-image", "anon:r1")
    from leaderboard.runner import run_from_args

    prompts = tmp_path / "p.txt"
    prompts.write_text("a snowy owl\na tin robot\n")
    out = arena.studio.settings.output_dir / "leaderboard" / "pool"
    run_from_args(out, prompts=str(prompts), models=list(MODELS), seeds=[0], batch_size=2, studio=arena.studio)
    seen = set()
    for _ in range(6):
        view = arena.instant_battle("text-to-image", "anon:r1")
        assert view.prompt in {"a snowy owl", "a tin robot"} and view.models is None
        assert all(p.is_file() and "leaderboard" in str(p) for p in (*view.outputs_a, *view.outputs_b))
        vote = arena.vote(view.token, "b", "anon:r1").vote
        seen.add((vote.model_a, vote.model_b))
    assert seen == {("sd15", "sd-turbo"), ("sd-turbo", "sd15")}  # both sides occur (p = 1 - 2/64 by chance)


def test_ratings_file_joins_the_leaderboard(arena):
    import pandas as pd

    from leaderboard.tables import join_ratings

    for outcome in ("a", "a", "b", "tie", "a", "a"):
        view = arena.start_battle("text-to-image", "a kite", "anon:r1")
        arena.vote(view.token, outcome, "anon:r1")
    table = arena.ratings(min_votes=1)
    assert table["votes"].tolist() == [6, 6]
    path = arena.write_ratings(table)
    assert path == arena.studio.settings.workspace.arena / "ratings.csv"
    joined = join_ratings(pd.DataFrame({"model": list(MODELS), "clip_score": [30.0, 31.0]}), pd.read_csv(path))
    assert joined["rating"].notna().all()
    assert arena.write_ratings(table.iloc[:0], "inpaint") is None  # another task's ratings never replace them
    assert len(pd.read_csv(path)) == 2


def test_export_writes_every_vote(arena, tmp_path):
    for outcome in ("a", "bothbad"):
        view = arena.start_battle("text-to-image", "a kite", "anon:r1")
        arena.vote(view.token, outcome, "anon:r1")
    csv = export_votes(arena.store, tmp_path / "votes.csv")
    jsonl = export_votes(arena.store, tmp_path / "votes.jsonl")
    import pandas as pd

    df = pd.read_csv(csv)
    assert df["outcome"].tolist() == ["a", "bothbad"] and len(Path(jsonl).read_text().splitlines()) == 2
    with pytest.raises(InputError, match=".csv or .jsonl"):
        export_votes(arena.store, tmp_path / "votes.xlsx")


def test_a_second_store_sees_the_votes(arena):
    view = arena.start_battle("text-to-image", "a kite", "anon:r1")
    arena.vote(view.token, "a", "anon:r1")
    other = ArenaStore.from_settings(arena.studio.settings)
    try:
        assert other.vote_count() == 1
    finally:
        other.close()


def test_signed_in_space_users_vote_as_themselves(arena):
    from leaderboard.arena.ui_common import rater_of as _rater

    class Request:  # what gr.Request forwards: the client, the Gradio session hash, the cookie session
        def __init__(self, session, host="203.0.113.9", session_hash="abc"):
            self._session, self.client, self.session_hash = session, type("C", (), {"host": host})(), session_hash

        @property
        def session(self):
            if self._session is None:
                raise AssertionError("SessionMiddleware must be installed to access request.session")
            return self._session

    signed_in = {"oauth_info": {"userinfo": {"preferred_username": "ada"}, "expires_at": 4e9}}
    assert _rater(arena, Request(signed_in)) == "hf:ada"
    expired = {"oauth_info": {"userinfo": {"preferred_username": "ada"}, "expires_at": 1.0}}
    for request in (Request(None), Request({}), Request(expired)):
        rater = _rater(arena, request)
        assert rater.startswith("anon:") and "203.0.113.9" not in rater
    assert _rater(arena, Request(None)) != _rater(arena, Request(None, session_hash="other"))


# ---------------------------------------------------------------------------------------------- pair choice

THREE = ("sd15", "sd-turbo", "ldm-text2im")
CLOSE = ("sd-turbo", "sd15")  # sorted, as pairs are keyed


@pytest.fixture
def arena3(studio, tmp_path):
    """An arena of three stand-ins with planted votes: sd15 and sd-turbo level at 30-30 (60 votes), each 35-5 over
    ldm-text2im (40 votes a pair): the close pair has the most votes, so 1 / (1 + votes) would draw it least."""
    settings = dataclasses.replace(studio.settings, output_dir=tmp_path / "out", arena_models=THREE, db_url="")
    made = Arena.open(Studio(settings, studio.registry, studio.cache, True, "tests"))
    planted = [("sd15", "sd-turbo", "a", 30), ("sd15", "sd-turbo", "b", 30)]
    planted += [(m, "ldm-text2im", o, n) for m in CLOSE for o, n in (("a", 35), ("b", 5))]
    for k, (a, b, outcome, _) in enumerate(row for row in planted for _ in range(row[3])):
        battle = Battle(uuid.uuid4().hex, "text-to-image", "anonymous", a, b, "p", 0, (), (), "anon:x", k, 1e12)
        made.store.add_battle(battle)
        made.store.record_vote(battle.id, "anon:x", outcome, now=k)
    named = Battle(uuid.uuid4().hex, "text-to-image", "named", "sd15", "sd-turbo", "p", 0, (), (), "anon:x", 0, 1e12)
    made.store.add_battle(named)  # a named vote: left out of pair choice as it is of the ratings
    made.store.record_vote(named.id, "anon:x", "a", now=0)
    made.rng.seed(7)
    yield made
    made.store.close()


def _picks(arena, monkeypatch) -> list[dict]:
    """Stub out making the battle: each call's arguments (model_a, model_b, seed, ...) by name, in order."""
    picks = []

    def capture(*args, **kwargs):
        picks.append(inspect.signature(Arena._make_battle).bind(arena, *args, **kwargs).arguments)

    monkeypatch.setattr(arena, "_make_battle", capture)
    return picks


def test_blind_pairs_follow_the_uncertainty_and_replay(arena3, monkeypatch):
    picks = _picks(arena3, monkeypatch)
    for _ in range(300):
        arena3.start_battle("text-to-image", "a kite", "anon:r1")
    pairs = Counter(tuple(sorted((p["model_a"], p["model_b"]))) for p in picks)
    assert pairs[CLOSE] / 300 > 0.85  # chance 0.93 (0.25 under 1 / (1 + votes))
    assert len(pairs) == 3  # every pair keeps a chance (0.033 each)
    votes = arena3.pair_votes("text-to-image")
    assert len(votes) == 140  # the blind votes only
    rng = random.Random(7)  # the arena's generator replays: the same pairs, sides and seeds
    expected = [(*sample_pair(THREE, votes, rng), rng.randrange(2**31)) for _ in range(300)]
    assert [(p["model_a"], p["model_b"], p["seed"]) for p in picks] == expected


def test_instant_pairs_follow_the_uncertainty_among_the_pairs_with_outputs(arena3, monkeypatch):
    pool = {"sd15": {("p", 0): "s.png", ("q", 1): "s1.png"}, "sd-turbo": {("p", 0): "t.png"}}
    pool["ldm-text2im"] = {("q", 1): "l.png"}  # shares a prompt with sd15 only: (ldm, sd-turbo) can't be shown
    monkeypatch.setattr(arena3, "cached_outputs", lambda: pool)
    picks = _picks(arena3, monkeypatch)
    for _ in range(300):
        arena3.instant_battle("text-to-image", "anon:r1")
    pairs = Counter(tuple(sorted((p["model_a"], p["model_b"]))) for p in picks)
    assert set(pairs) == {CLOSE, ("ldm-text2im", "sd15")}
    assert pairs[CLOSE] / 300 > 0.85  # 0.93 : 0.033 of the chances (0.40 under 1 / (1 + votes))
    for p in picks:
        assert p["outputs"] == (
            (pool[p["model_a"]][(p["prompt"], p["seed"])],),
            (pool[p["model_b"]][(p["prompt"], p["seed"])],),
        )
