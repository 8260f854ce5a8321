"""`genart arena ratings|export|session` on a SQLite store filled in-process."""

import json
import time
import uuid

import pandas as pd
import pytest
from arena_planted import LEFTY, plant_arena  # tests/leaderboard/arena/arena_planted.py

from leaderboard.arena.store import ArenaStore, Battle


def _fill(url: str, results: list[tuple[str, str, str]], mode: str = "anonymous") -> None:
    """One committed vote per (model_a, model_b, outcome), each by its own rater 5 s after its battle started (one
    rater casting them all would be flagged for always picking A)."""
    store = ArenaStore(url)
    try:
        now = time.time()
        for i, (model_a, model_b, outcome) in enumerate(results):
            battle = Battle(
                id=uuid.uuid4().hex,
                task="text-to-image",
                mode=mode,
                model_a=model_a,
                model_b=model_b,
                prompt="a cat",
                seed=0,
                outputs_a=("a.png",),
                outputs_b=("b.png",),
                rater=f"anon:t{i}",
                created_at=now,
                expires_at=now + 600,
            )
            store.add_battle(battle)
            store.record_vote(battle.id, f"anon:t{i}", outcome, now=now + 5)
    finally:
        store.close()


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'arena.db'}"


def test_ratings_and_export(genart_cli, db, tmp_path):
    # sd15 beats sd-turbo 8 times of 10, ties once; sd-turbo beats ldm-text2im 7 of 10
    _fill(
        db,
        [("sd15", "sd-turbo", "a")] * 8
        + [("sd-turbo", "sd15", "a"), ("sd15", "sd-turbo", "tie")]
        + [("sd-turbo", "ldm-text2im", "a")] * 7
        + [("ldm-text2im", "sd-turbo", "a")] * 3,
    )
    _fill(db, [("ldm-text2im", "sd15", "a")] * 5, mode="named")  # kept out unless --include-named
    done = genart_cli("arena", "ratings", "--db", db, "--json", "--min-votes", "1")
    assert done.returncode == 0, done.stderr
    rows = {r["model"]: r for r in json.loads(done.stdout)["ratings"]}
    assert [m for m, _ in sorted(rows.items(), key=lambda kv: -kv[1]["rating"])] == ["sd15", "sd-turbo", "ldm-text2im"]
    assert (rows["sd15"]["votes"], rows["sd-turbo"]["votes"], rows["ldm-text2im"]["votes"]) == (10, 20, 10)
    assert rows["sd15"]["ci_low"] <= rows["sd15"]["rating"] <= rows["sd15"]["ci_high"]
    named = json.loads(
        genart_cli("arena", "ratings", "--db", db, "--json", "--min-votes", "1", "--include-named").stdout
    )
    assert {r["model"]: r["votes"] for r in named["ratings"]}["ldm-text2im"] == 15

    out = tmp_path / "all.csv"
    done = genart_cli("arena", "export", "--db", db, "--out", str(out))
    assert done.returncode == 0 and "25 votes" in done.stdout
    df = pd.read_csv(out)
    assert len(df) == 25 and (df["mode"] == "named").sum() == 5
    bad = genart_cli("arena", "export", "--db", db, "--out", str(tmp_path / "all.xlsx"))
    assert bad.returncode == 2 and ".csv or .jsonl" in bad.stderr


def test_ratings_report_what_they_rest_on(genart_cli, db):
    store = ArenaStore(db)
    plant_arena(store)  # four honest raters, one who always picks A
    store.close()
    done = genart_cli("arena", "ratings", "--db", db)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Stopping rule (all adjacent ranks separated): not yet; 1 adjacent pair(s) still overlap" in out
    assert "about 280 more votes likely needed" in out
    assert "Top rank (sd15): removing 5 vote(s) changes the top rank (to sd-turbo)." in out
    assert "controlled Bradley-Terry (60 votes), rating points:" in out and "for being shown as A (left)" in out
    assert "flagged raters (kept = counted all the same):" in out and LEFTY in out and "picks one side" in out
    body = json.loads(genart_cli("arena", "ratings", "--db", db, "--json", "--width", "300").stdout)
    assert body["stopping_rule"]["rule"] == "width" and body["stopping_rule"]["done"] is True
    assert body["fragility"]["votes"] == 5 and list(body["covariates"]["coefficients"]) == ["side"]
    assert [(f["rater"], f["check"], f["kept"]) for f in body["flagged_raters"]] == [(LEFTY, "side", False)]
    bad = genart_cli("arena", "ratings", "--db", db, "--stop", "width", "--width", "0")
    assert bad.returncode == 2 and "give a number of rating points above 0" in bad.stderr


def test_session_create_and_status(genart_cli, db, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red kite\na blue door\n")
    done = genart_cli(
        "arena",
        "session",
        "create",
        "--db",
        db,
        "--name",
        "pilot",
        "--models",
        "sd15,sd-turbo",
        "--prompts",
        str(prompts),
        "--pairs",
        "4",
    )
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip()
    assert len(code) == 8 and "2 models, 2 prompts, 4 pairs per rater" in done.stderr
    status = genart_cli("arena", "session", "status", code.lower(), "--db", db, "--json")
    body = json.loads(status.stdout)
    assert body["code"] == code and body["raters"] == [] and body["fleiss_kappa"] is None
    missing = genart_cli("arena", "session", "status", "ABCDEFGH", "--db", db)
    assert missing.returncode == 2 and "no rating session with code ABCDEFGH" in missing.stderr
    bad = genart_cli("arena", "session", "create", "--db", db, "--models", "sd15", "--prompts", str(prompts))
    assert bad.returncode == 2 and "at least two different models" in bad.stderr
    done = genart_cli("arena", "session", "export", code, "--db", db, "--out", str(tmp_path / "x"))
    assert done.returncode == 0 and len(done.stdout.split()) == 2


def test_a_missing_sqlite_file_is_refused_not_created(genart_cli, tmp_path):
    """Regression: `export --db` on a path that does not exist silently created an empty database there."""
    missing = tmp_path / "nowhere" / "arena.db"
    for args in (("export", "--out", str(tmp_path / "v.csv")), ("ratings",)):
        done = genart_cli("arena", *args, "--db", f"sqlite:///{missing}")
        assert done.returncode != 0 and f"No vote database at {missing}" in done.stderr
        assert "Traceback" not in done.stderr and not missing.exists()


def test_an_unreachable_database_is_a_message_not_a_traceback(genart_cli, tmp_path):
    """Regression: the CLI printed a raw SQLAlchemy traceback for a database it could not reach."""
    port = 9  # the discard port: nothing listens
    done = genart_cli("arena", "ratings", "--db", f"postgresql+psycopg://genart:secret@127.0.0.1:{port}/votes")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Cannot open the vote database postgresql+psycopg://genart:***@127.0.0.1:9/votes" in done.stderr
    assert "secret" not in done.stderr
    done = genart_cli("arena", "ratings", "--db", "not a url")
    assert done.returncode != 0 and "is not a database URL" in done.stderr and "Traceback" not in done.stderr
