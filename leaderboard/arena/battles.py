"""The arena: blind and named battles between two models, signed single-use vote tokens, and the ratings they make."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from genart_demo.atomic import atomic_write
from genart_demo.errors import InputError, TaskFailed
from genart_demo.markup import code_span, escape_markdown
from genart_demo.media import read_png_settings
from genart_demo.safety import FLAGGED_TEXT
from genart_demo.studio import Studio
from genart_demo.tasks.common import is_blank, text_problem
from genart_demo.tasks.generate import GenerateRequest, generate
from genart_demo.zerogpu import call_seconds, gpu_call

from ..flagged import row_flagged
from ..manifest import MANIFEST_FILE, read_manifest
from .pairs import pair_weights, sample_pair
from .rated import RatedVotes, rated_votes
from .ratings import MIN_VOTES, ratings_table, write_ratings_csv
from .store import OUTCOMES, ArenaStore, Battle, Vote, backup_from_settings
from .tokens import issue_token, load_secret, read_token

log = logging.getLogger("genart.arena")

MAX_PROMPT_CHARS = 1000  # a battle prompt longer than this is refused (the text encoders read ~77 tokens anyway)
BATTLE_TASKS = ("text-to-image",)  # tasks battles can be made for today; the task is a field of every battle
OUTCOME_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "bothbad": "Both are bad"}
ProgressFn = Callable[[int, int, str], None]
FLAGGED_VOID = "flagged"  # how the void reason of a battle with a safety-checker-flagged image starts


class BattleFailed(TaskFailed):
    """A model failed to produce its output: the battle was recorded as void and will never be counted."""


class BattleFlagged(BattleFailed):
    """A model's safety checker flagged its image (diffusers returned it black): the battle was recorded as void and
    is never offered for a vote, since a vote against a black square judges the filter, not the model."""


@dataclass(frozen=True)
class BattleView:
    """What a rater is shown before voting: the outputs and the token, never the model names (unless named)."""

    token: str
    prompt: str
    outputs_a: tuple[Path, ...]  # absolute paths
    outputs_b: tuple[Path, ...]
    mode: str
    models: tuple[str, str] | None = None  # only for named battles
    item: int | None = None  # session item index


@dataclass(frozen=True)
class Reveal:
    """The answer to a committed vote: which model was which."""

    vote: Vote

    def text(self) -> str:
        """Markdown for the voter, e.g. "**A was `sd15`, B was `sd-turbo`.** Your vote for A (sd15) is saved."."""
        v = self.vote
        a, b = escape_markdown(v.model_a), escape_markdown(v.model_b)
        chosen = {"a": f"for A ({a})", "b": f"for B ({b})", "tie": "for a tie", "bothbad": "that both are bad"}
        return (
            f"**A was {code_span(v.model_a)}, B was {code_span(v.model_b)}.** Your vote {chosen[v.outcome]} is saved."
        )


def check_prompt(prompt: object) -> str:
    """The prompt, stripped; empty or over-long prompts are refused."""
    text = str(prompt or "").strip()
    if is_blank(text):
        raise InputError("The prompt is empty: type what both models should draw.")
    problem = text_problem(text, "prompt", MAX_PROMPT_CHARS)  # before anything is stored or generated
    if problem:
        raise InputError(problem)
    return text


def check_outcome(outcome: object) -> str:
    value = str(outcome or "").strip().lower()
    if value not in OUTCOMES:
        raise InputError(f"Unknown vote {outcome!r}; allowed: {', '.join(OUTCOMES)} (A, B, tie, both bad).")
    return value


def rater_id(salt: bytes, *, username: str | None = None, client: str = "", session: str = "") -> str:
    """Who voted, as the store keeps it: the Hugging Face user when signed in, else a salted hash of the connection
    and browser session (never the raw address)."""
    if username:
        return f"hf:{username}"
    digest = hashlib.sha256(salt + f"{client}|{session}".encode()).hexdigest()[:24]
    return f"anon:{digest}"


class Arena:
    """Process-wide arena state: the vote store, the token key and the studio that makes the outputs."""

    def __init__(
        self,
        studio: Studio,
        store: ArenaStore,
        secret: bytes,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.studio = studio
        self.store = store
        self.secret = secret
        self.clock = clock
        self.rng = random.Random(secrets.randbits(64) if seed is None else seed)
        self._rng_lock = threading.Lock()
        self._runs_cache: tuple[tuple, dict] | None = None

    @classmethod
    def open(cls, studio: Studio) -> Arena:
        """The arena of the studio's settings: its vote store (opened, tables created), its ticket key and, with a
        backup repo set, the Hub backup. Built once per process, at the composition root (`genart serve`, a
        Space, the arena CLI), and passed to whatever needs it."""
        settings = studio.settings
        settings.workspace.arena.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings.workspace.arena.chmod(0o700)  # private: its database (votes, raters), the ticket key, images
        if not settings.db_url:  # SQLite would make the file 0644; made 0600 first, its journals take its mode
            os.close(os.open(settings.workspace.arena_db, os.O_WRONLY | os.O_CREAT, 0o600))
        store = ArenaStore.from_settings(settings, backup=backup_from_settings(settings))
        return cls(studio, store, load_secret(settings))

    def close(self) -> None:
        """Close the vote store (and ask the backup for a last commit)."""
        self.store.close()

    @property
    def rater_salt(self) -> bytes:
        return hashlib.sha256(b"genart-rater|" + self.secret).digest()

    # ------------------------------------------------------------------ models and outputs

    def models(self, task: str) -> list[str]:
        """Registry ids battles for `task` draw from (GENART_ARENA_MODELS narrows them)."""
        if task not in BATTLE_TASKS:
            raise InputError(f"The arena has no {task!r} battles yet; tasks: {', '.join(BATTLE_TASKS)}.")
        ids = [spec.id for spec in self.studio.registry.for_tasks([task])]
        chosen = self.studio.settings.arena_models
        return [m for m in ids if m in chosen] if chosen else ids

    def check_model(self, task: str, model: str) -> str:
        allowed = self.models(task)
        if model not in allowed:
            raise InputError(f"Model {model!r} is not in the {task} arena; allowed: {', '.join(allowed)}.")
        return model

    def draw(self, fn, *args):
        """fn(*args, rng) under the arena's lock: every random choice (pairs, seeds, session codes) comes from one
        generator, so a seeded Arena replays exactly, even with several request threads."""
        with self._rng_lock:
            return fn(*args, self.rng)

    def output_paths(
        self, task: str, model: str, prompt: str, seed: int, progress: ProgressFn | None = None
    ) -> tuple[str, ...]:
        """The model's output for (prompt, seed), made once and kept under arena/images (paths relative to the
        output folder). File names are hashes, so a served file never names its model. On ZeroGPU hardware the
        generation runs under `spaces.GPU` for the time estimated for the model, as the studio's tasks do."""
        key = json.dumps([task, model, prompt, seed, self.studio.runs_standin(model)], ensure_ascii=False)
        name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".png"
        workspace = self.studio.settings.workspace
        path = workspace.arena_images / task / name
        rel = path.relative_to(workspace.outputs)
        if not path.is_file():
            self.studio.wait_for_warm_up()
            path.parent.mkdir(parents=True, exist_ok=True)
            request = GenerateRequest(model=model, prompt=prompt, seed=seed)
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                call = partial(generate, self.studio, request, progress=progress, output_dir=Path(tmp))
                result = gpu_call(call, call_seconds(self.studio.registry, request), self.studio.settings.zerogpu)()
                os.replace(result.paths[0], path)  # atomic (written whole in the same folder): never served half-made
        return (str(rel),)

    def absolute(self, rels: Sequence[str]) -> tuple[Path, ...]:
        return tuple(self.studio.settings.workspace.outputs / rel for rel in rels)

    def flagged(self, rels: Sequence[str]) -> bool:
        """Whether the settings written into any of these outputs say its safety checker flagged it."""
        paths = [p for p in self.absolute(rels) if p.suffix == ".png"]
        return any(getattr(read_png_settings(path), "nsfw_flagged", None) is True for path in paths)

    # ------------------------------------------------------------------ battles

    def _make_battle(
        self,
        task: str,
        mode: str,
        model_a: str,
        model_b: str,
        prompt: str,
        seed: int,
        rater: str,
        *,
        session_code: str | None = None,
        item: int | None = None,
        progress: ProgressFn | None = None,
        outputs: tuple[tuple[str, ...], ...] | None = None,
        tags: tuple[str, ...] = (),
    ) -> BattleView:
        now = self.clock()
        battle = Battle(
            id=uuid.uuid4().hex,
            task=task,
            mode=mode,
            model_a=model_a,
            model_b=model_b,
            prompt=prompt,
            seed=seed,
            outputs_a=(),
            outputs_b=(),
            rater=rater,
            created_at=now,
            expires_at=now + self.studio.settings.arena_token_ttl_s,
            session_code=session_code,
            item=item,
            settings={
                "standin": self.studio.runs_standin(model_a) or self.studio.runs_standin(model_b),
                **({"tags": list(tags)} if tags else {}),  # the prompt's categories, copied into its vote
            },
        )
        if outputs is None:
            made = []
            for side, model in (("A", model_a), ("B", model_b)):
                try:
                    made.append(self.output_paths(task, model, prompt, seed, progress))
                except InputError:
                    raise
                except Exception as exc:  # a model that fails voids the battle; it is recorded, never counted
                    log.exception("arena: %s failed on %r", model, prompt)
                    reason = f"model {side} failed: {type(exc).__name__}: {exc}"[:500]
                    self.store.add_battle(Battle(**{**asdict(battle), "status": "void", "void_reason": reason}))
                    raise BattleFailed(
                        f"Model {side} failed to make its image, so this battle is void and will not "
                        "be counted. Start a new one."
                    ) from exc
            outputs = tuple(made)
        battle = Battle(**{**asdict(battle), "outputs_a": tuple(outputs[0]), "outputs_b": tuple(outputs[1])})
        flagged = [side for side, rels in zip("AB", outputs) if self.flagged(rels)]
        if flagged:
            reason = f"{FLAGGED_VOID}: model {' and '.join(flagged)}'s image was {FLAGGED_TEXT}"
            self.store.add_battle(Battle(**{**asdict(battle), "status": "void", "void_reason": reason}))
            raise BattleFlagged(
                f"Model {' and '.join(flagged)}'s image was {FLAGGED_TEXT}, so this battle is void and will not be "
                "counted. Start a new one, perhaps with another prompt."
            )
        self.store.add_battle(battle)
        token = issue_token(self.secret, battle.id, rater, battle.expires_at)
        return BattleView(
            token,
            prompt,
            self.absolute(battle.outputs_a),
            self.absolute(battle.outputs_b),
            mode,
            (model_a, model_b) if mode == "named" else None,
            item,
        )

    def start_battle(self, task: str, prompt: str, rater: str, *, progress: ProgressFn | None = None) -> BattleView:
        """A blind battle: a pair drawn towards pairs with few votes, random sides, both made for `prompt`."""
        prompt = check_prompt(prompt)
        models = self.models(task)
        if len(models) < 2:
            raise InputError(f"The {task} arena needs at least two models; it has {models or 'none'}.")
        model_a, model_b = self.draw(sample_pair, models, self.store.pair_counts(task))
        seed = self.draw(lambda rng: rng.randrange(2**31))
        return self._make_battle(task, "anonymous", model_a, model_b, prompt, seed, rater, progress=progress)

    def named_battle(
        self, task: str, model_a: str, model_b: str, prompt: str, rater: str, *, progress: ProgressFn | None = None
    ) -> BattleView:
        """Side by side with the models the user picked; its votes stay out of the ratings unless asked for."""
        prompt = check_prompt(prompt)
        model_a, model_b = self.check_model(task, model_a), self.check_model(task, model_b)
        if model_a == model_b:
            raise InputError("Pick two different models.")
        seed = self.draw(lambda rng: rng.randrange(2**31))
        return self._make_battle(task, "named", model_a, model_b, prompt, seed, rater, progress=progress)

    def cached_outputs(self) -> dict[str, dict[tuple[str, int], str]]:
        """model -> (prompt, seed) -> image path (relative to the output folder) from the workspace's leaderboard
        runs: the pre-generated pool instant battles come from. Re-read when a manifest changes."""
        root = self.studio.settings.workspace.runs
        runs = sorted(p for p in root.glob(f"*/{MANIFEST_FILE}")) if root.is_dir() else []
        stamp = tuple((str(p), p.stat().st_mtime_ns) for p in runs)
        if self._runs_cache and self._runs_cache[0] == stamp:
            return self._runs_cache[1]
        found: dict[str, dict[tuple[str, int], str]] = {}
        for manifest in runs:
            run = manifest.parent
            for row in read_manifest(run):
                if row_flagged(row):
                    continue  # a black image its safety checker put in: never offered to voters
                rel = (run / row["path"]).relative_to(self.studio.settings.workspace.outputs)
                found.setdefault(row["model"], {})[(row["prompt"], int(row["seed"]))] = str(rel)
        self._runs_cache = (stamp, found)
        return found

    def instant_battle(self, task: str, rater: str) -> BattleView:
        """A blind battle served at once from pre-generated outputs (`genart leaderboard run` makes them)."""
        pool = self.cached_outputs() if task == "text-to-image" else {}
        models = [m for m in self.models(task) if m in pool]
        shared = {(a, b): sorted(pool[a].keys() & pool[b].keys()) for a in models for b in models if a < b}
        shared = {pair: keys for pair, keys in shared.items() if keys}
        if not shared:
            raise InputError(
                "No pre-generated battles yet: make some with `genart leaderboard run --models A,B "
                f"--prompts drawbench --out {self.studio.settings.workspace.runs}/NAME`, "
                "or type a prompt."
            )
        weights = pair_weights(sorted({m for pair in shared for m in pair}), self.store.pair_counts(task))
        pairs = list(shared)
        with self._rng_lock:
            pair = self.rng.choices(pairs, weights=[weights[p] for p in pairs])[0]
            prompt, seed = self.rng.choice(shared[pair])
            model_a, model_b = pair if self.rng.random() < 0.5 else pair[::-1]
        outputs = ((pool[model_a][(prompt, seed)],), (pool[model_b][(prompt, seed)],))
        return self._make_battle(task, "anonymous", model_a, model_b, prompt, seed, rater, outputs=outputs)

    def vote(self, token: str, outcome: str, rater: str) -> Reveal:
        """Check the token, commit the vote (once), then reveal the names. Refusals raise VoteRefused."""
        outcome = check_outcome(outcome)
        battle_id = read_token(self.secret, str(token or ""), rater, self.clock())
        return Reveal(self.store.record_vote(battle_id, rater, outcome, now=self.clock()))

    # ------------------------------------------------------------------ ratings

    def ratings(
        self,
        task: str = "text-to-image",
        *,
        include_named: bool = False,
        rounds: int = 100,
        min_votes: int | None = None,
        seed: int = 0,
    ):
        """The ratings table (Bradley-Terry with bootstrap intervals, Elo, counts) over the votes that count."""
        votes = self.rated_votes(task, include_named=include_named).votes
        return ratings_table(votes, rounds=rounds, seed=seed, min_votes=MIN_VOTES if min_votes is None else min_votes)

    def rated_votes(self, task: str, *, include_named: bool = False, keep_flagged: bool = False) -> RatedVotes:
        """The votes that count in the task's ratings and the rater flags behind the choice (rated.rated_votes),
        with the daily cap of GENART_ARENA_DAILY_CAP."""
        return rated_votes(
            self.store,
            task,
            include_named=include_named,
            keep_flagged=keep_flagged,
            daily_cap=self.studio.settings.arena_daily_cap,
        )

    def write_ratings(self, table) -> Path:
        """The ratings table the leaderboard joins into its tables (Workspace.arena_ratings)."""
        return write_ratings_csv(table, self.studio.settings.workspace.arena_ratings)


def export_votes(store: ArenaStore, path: Path, *, modes: tuple[str, ...] | None = None) -> Path:
    """Every vote (all modes unless narrowed) as CSV or JSON lines, by the file's suffix; written atomically."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".csv"):
        raise InputError(f"Export to {path.name!r}: use a .csv or .jsonl file name.")
    rows = [asdict(v) for v in store.votes(modes=modes)]
    if path.suffix == ".jsonl":
        return atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    rows = [{**r, "tags": ";".join(r["tags"])} for r in rows]  # a CSV cell per vote: its tags joined with ";"
    return atomic_write(path, pd.DataFrame(rows, columns=list(Vote.__dataclass_fields__)).to_csv(index=False))
