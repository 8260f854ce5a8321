"""The arena: blind and named battles between two models, signed single-use vote tokens, and the ratings they make."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from genart_demo.errors import InputError, TaskFailed
from genart_demo.markup import code_span, escape_markdown
from genart_demo.media import read_png_settings
from genart_demo.safety import FLAGGED_TEXT
from genart_demo.studio import Studio

from .export import export_votes  # noqa: F401  (re-exported: the CLI and tests import it from here)
from .rated import RATED_MODES, RatedVotes, rated_votes
from .ratings import MIN_VOTES, ratings_table, write_ratings_csv
from .runs_pool import RunsPool
from .sampling import pair_chances, sample_pair
from .store import OUTCOMES, ArenaStore, Battle, Vote, backup_from_settings
from .task_outputs import BATTLE_TASKS, MAX_PROMPT_CHARS, battle_inputs, check_prompt, make_output, needs_prompt  # noqa: F401
from .tokens import issue_token, load_secret, read_token

log = logging.getLogger("genart.arena")
LEADERBOARD_TASK = "text-to-image"  # the task of the leaderboard's prompt-set runs, which joins these ratings

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
    prompt: str  # "" for a task that takes none (or an optional one left empty)
    outputs_a: tuple[Path, ...]  # absolute paths: images_per_side files per side (.png, or .mp4 for video)
    outputs_b: tuple[Path, ...]
    mode: str
    models: tuple[str, str] | None = None  # only for named battles
    item: int | None = None  # session item index
    inputs: tuple[Path, ...] = ()  # absolute: the input image, then the mask (image tasks); never served by URL
    task: str = "text-to-image"


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
        self.runs_pool = RunsPool()

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
        self,
        task: str,
        model: str,
        prompt: str,
        seed: int,
        progress: ProgressFn | None = None,
        *,
        inputs: dict[str, str] | None = None,
        count: int = 1,
    ) -> tuple[str, ...]:
        """The model's `count` outputs for (prompt, inputs, seeds seed .. seed + count - 1), each made once and kept
        under arena/images (task_outputs.make_output); paths relative to the output folder, as `inputs`' are."""
        workspace = self.studio.settings.workspace
        files = dict(zip(inputs, self.absolute(inputs.values()))) if inputs else None
        made = [
            make_output(self.studio, task, model, prompt, files, seed + i, progress, workspace.arena_images)
            for i in range(count)
        ]
        return tuple(str(path.relative_to(workspace.outputs)) for path in made)

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
        inputs: dict[str, str] | None = None,
        images_per_side: int = 1,
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
                **({"inputs": dict(inputs)} if inputs else {}),  # input image (and mask), relative paths
                "images_per_side": images_per_side,
            },
        )
        if outputs is None:
            made = []
            for side, model in (("A", model_a), ("B", model_b)):
                try:
                    made.append(
                        self.output_paths(task, model, prompt, seed, progress, inputs=inputs, count=images_per_side)
                    )
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
            self.absolute(list((inputs or {}).values())),
            task,
        )

    def pair_votes(self, task: str) -> list[tuple[str, str, str]]:
        """(model_a, model_b, outcome) of the task's blind votes: what pair choice reads to see where the ranking is
        still unsure."""
        return [(v.model_a, v.model_b, v.outcome) for v in self.store.votes(task=task, modes=RATED_MODES)]

    def start_battle(
        self,
        task: str,
        prompt: str,
        rater: str,
        *,
        image: object = None,
        mask: object = None,
        images_per_side: int = 1,
        progress: ProgressFn | None = None,
    ) -> BattleView:
        """A blind battle: a pair drawn where the next vote settles the ranking most (sampling.sample_pair over the
        task's blind votes), random sides, both made for `prompt` (and the input image and mask), images_per_side
        outputs each. Without a prompt, models that need one are left out."""
        allowed = self.models(task)  # an unknown task is refused first
        prompt, files, n = battle_inputs(self.studio, task, prompt, image, mask, images_per_side)
        models = [m for m in allowed if prompt or not needs_prompt(self.studio.registry.get(m))]
        if len(models) < 2:
            unless = "" if prompt else " that run without a prompt (type one to draw from the others)"
            raise InputError(f"The {task} arena needs at least two models{unless}; it has {models or 'none'}.")
        model_a, model_b = self.draw(sample_pair, models, self.pair_votes(task))
        seed = self.draw(lambda rng: rng.randrange(2**31))
        return self._make_battle(
            task, "anonymous", model_a, model_b, prompt, seed, rater, progress=progress, inputs=files, images_per_side=n
        )

    def named_battle(
        self,
        task: str,
        model_a: str,
        model_b: str,
        prompt: str,
        rater: str,
        *,
        image: object = None,
        mask: object = None,
        images_per_side: int = 1,
        progress: ProgressFn | None = None,
    ) -> BattleView:
        """Side by side with the models the user picked; its votes stay out of the ratings unless asked for."""
        model_a, model_b = self.check_model(task, model_a), self.check_model(task, model_b)
        if model_a == model_b:
            raise InputError("Pick two different models.")
        prompt, files, n = battle_inputs(self.studio, task, prompt, image, mask, images_per_side)
        for model in (model_a, model_b):
            if not prompt and needs_prompt(self.studio.registry.get(model)):
                raise InputError(f"{model} needs a prompt: type what it should make of the image.")
        seed = self.draw(lambda rng: rng.randrange(2**31))
        return self._make_battle(
            task, "named", model_a, model_b, prompt, seed, rater, progress=progress, inputs=files, images_per_side=n
        )

    def cached_outputs(self) -> dict[str, dict[tuple[str, int], str]]:
        """model -> (prompt, seed) -> image path from the leaderboard runs: what instant battles draw from."""
        return self.runs_pool.outputs(self.studio.settings.workspace)

    def instant_battle(self, task: str, rater: str) -> BattleView:
        """A blind battle served at once from pre-generated outputs (`genart leaderboard run` makes them)."""
        if task != LEADERBOARD_TASK:  # leaderboard runs pre-generate text-to-image outputs only
            raise InputError(f"Instant battles are text-to-image only; start a {task} battle with your own input.")
        pool = self.cached_outputs()
        models = [m for m in self.models(task) if m in pool]
        shared = {(a, b): sorted(pool[a].keys() & pool[b].keys()) for a in models for b in models if a < b}
        shared = {pair: keys for pair, keys in shared.items() if keys}
        if not shared:
            raise InputError(
                "No pre-generated battles yet: make some with `genart leaderboard run --models A,B "
                f"--prompts drawbench --out {self.studio.settings.workspace.runs}/NAME`, "
                "or type a prompt."
            )
        chances = pair_chances(sorted({m for pair in shared for m in pair}), self.pair_votes(task))
        pairs = list(shared)  # only pairs with outputs to show: pair_chances' weights among them
        with self._rng_lock:
            pair = self.rng.choices(pairs, weights=[chances[p] for p in pairs])[0]
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

    def write_ratings(self, table, task: str = LEADERBOARD_TASK) -> Path | None:
        """The ratings table the leaderboard joins into its tables (Workspace.arena_ratings); only the leaderboard's
        own task's ratings are written there (None for another task's, which would replace them)."""
        if task != LEADERBOARD_TASK:
            return None
        return write_ratings_csv(table, self.studio.settings.workspace.arena_ratings)
