"""The deployable Hugging Face Spaces as a typed table: what each shows (pages of the page table), its models,
hardware and words, and the studio a Space runs on."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .pages import Page, all_pages, get_pages
from .registry import TASKS, Registry
from .settings import Settings
from .studio import Studio

COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")  # allowed thumbnail colours
STUDIO = "studio"  # a Space's `page` that shows every page of the table
REFINING_PAGES = (STUDIO, "generate")  # pages with "finish with the refiner": their Spaces include refiners


def space_page_keys(page: str) -> tuple[str, ...]:
    """The keys of the pages a Space shows: every page for STUDIO, else its one page."""
    return tuple(p.key for p in all_pages()) if page == STUDIO else (page,)


def page_title(page: str) -> str:
    """What a Space's page shows, in words: "every tab", or "the Generate tab"."""
    if page == STUDIO:
        return "every tab"
    return f"the {get_pages([page])[0].title} tab"


@dataclass(frozen=True)
class SpaceSpec:
    """One deployable Space."""

    name: str  # folder under spaces/ and the argument of `genart spaces build|push`
    title: str  # Space title on the Hub
    emoji: str  # one emoji, the Space's icon
    color_from: str  # thumbnail gradient start, one of COLORS
    color_to: str  # thumbnail gradient end, one of COLORS
    page: str  # a page key of genart_demo.pages (or STUDIO for every page): what the app shows
    tasks: tuple[str, ...]  # registry tasks whose models the Space serves (its `models` metadata)
    default_model: str  # registry id picked first and preloaded at build time; "" = runs no model
    hardware: str  # suggested_hardware: a Hub hardware flavour (zero-a10g = ZeroGPU)
    summary: str  # short_description on the Hub (60 characters at most)
    description: str  # what people can do in it (Markdown, the README's first paragraph)
    oauth: bool = False  # "Sign in with Hugging Face": votes are then counted per Hub user


SPACES: dict[str, SpaceSpec] = {
    s.name: s
    for s in (
        SpaceSpec(
            STUDIO,
            "genart studio",
            "🎨",
            "purple",
            "indigo",
            "studio",
            TASKS,
            "sdxl-turbo",
            "l40sx1",
            "Compare image and video generators side by side",
            "The whole genart studio: Generate, Translate, Inpaint, Super-resolve, Video and Evaluate, plus the "
            "Leaderboard and the Arena. Run checkpoints on the same prompt, seed and settings, side by side; every "
            "image is a PNG carrying its full settings.",
            oauth=True,
        ),
        SpaceSpec(
            "arena",
            "genart arena",
            "🆚",
            "red",
            "yellow",
            "arena",
            ("text-to-image",),
            "sdxl-turbo",
            "l40sx1",
            "Blind votes between image models, rated by Bradley-Terry",
            "Blind pairwise battles between text-to-image models: two anonymous images for your prompt, your vote, "
            "then the names. Rating sessions for teams, and Bradley-Terry and Elo ratings with 95% intervals.",
            oauth=True,
        ),
        SpaceSpec(
            "leaderboard",
            "genart leaderboard",
            "🏆",
            "yellow",
            "green",
            "leaderboard",
            ("text-to-image",),
            "",
            "cpu-basic",
            "DrawBench and PartiPrompts scores of image models",
            "A read-only leaderboard: DrawBench and PartiPrompts runs of text-to-image models, scored by CLIPScore "
            "(and FID/KID against a reference set), per category and challenge, with one prompt across every "
            "model side by side.",
        ),
        SpaceSpec(
            "text-to-image",
            "genart text-to-image",
            "🌄",
            "blue",
            "purple",
            "generate",
            ("text-to-image",),
            "sdxl-turbo",
            "zero-a10g",
            "Text to image: SD 1.5, SDXL, Turbo, PixArt, SD3, FLUX",
            "Text-to-image with the studio's checkpoints: prompt, negative prompt, steps, guidance, size, seed, "
            "batch and sampler, and a compare mode that runs one prompt and seed through up to 4 models.",
        ),
        SpaceSpec(
            "upscaler",
            "genart upscaler",
            "🔍",
            "green",
            "blue",
            "upscale",
            ("super-resolve",),
            "realesrgan-x4plus",
            "zero-a10g",
            "4x super-resolution: SD x4, LDM and ESRGAN upscalers",
            "Super-resolution with diffusion (SD x4, LDM 4x) and GAN (ESRGAN family) upscalers, tiled so large "
            "inputs fit in memory, with a before/after slider against bicubic and PSNR/SSIM against a reference.",
        ),
        SpaceSpec(
            "video",
            "genart video",
            "🎬",
            "pink",
            "purple",
            "video",
            ("text-to-video", "image-to-video"),
            "cogvideox-2b",
            "zero-a10g",
            "Text and image to video: CogVideoX, AnimateDiff, SVD",
            "Text-to-video (ModelScope, AnimateDiff, CogVideoX) and image-to-video (Stable Video Diffusion), "
            "written as browser-playable H.264 mp4 with every setting in its metadata, a frame strip and a GIF.",
        ),
    )
}


def get_space(name: str) -> SpaceSpec:
    """The Space called `name`; an unknown name is refused with the list of Spaces."""
    try:
        return SPACES[name]
    except KeyError:
        raise InputError(f"Unknown Space {name!r}. Spaces: {', '.join(SPACES)}.") from None


def space_registry(space: SpaceSpec, registry: Registry | None = None) -> Registry:
    """The registry as the Space sees it: its default model first, then every model serving its tasks (in registry
    order), plus the refiners those models hand their latents to where the page offers refining. Pages list their
    models in this order."""
    registry = registry or Registry.load()
    chosen = [s.id for s in registry.for_tasks(space.tasks)]
    if space.default_model:
        chosen = [space.default_model] + [m for m in chosen if m != space.default_model]
    refiners = [
        s.refiner
        for s in map(registry.get, chosen)
        if s.refiner and s.refiner not in chosen and space.page in REFINING_PAGES
    ]
    return Registry({m: registry.get(m) for m in dict.fromkeys(chosen + refiners)})


def space_pages(space: SpaceSpec) -> tuple[Page, ...]:
    """The pages the Space shows (genart_demo.pages), in tab order."""
    return get_pages(space_page_keys(space.page))


def space_heading(space: SpaceSpec) -> dict[str, str]:
    """The title and heading a single-page Space shows; {} for the studio, which keeps the studio's own."""
    return {} if space.page == STUDIO else {"title": space.title, "heading": f"# {space.title}\n{space.summary}."}


def space_studio(name: str, settings: Settings | None = None) -> Studio:
    """The Studio a Space runs on: settings from the environment, the registry narrowed to the Space's models."""
    return Studio.create(settings or Settings.from_env(), registry=space_registry(get_space(name)))
