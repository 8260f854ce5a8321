"""The bad-input corpus: every tab's endpoint with one malformed value at a time, and the message it must get."""

import base64
import json

# Uploads are named "@file" in the table (made by the `inputs` fixture); "{code}" is a live rating-session code.
FORGED_TOKEN = (
    base64.urlsafe_b64encode(json.dumps({"b": "1", "e": 4e9, "r": "0" * 32}).encode()).decode().rstrip("=")
    + "."
    + base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
)
LONG = "a lighthouse at dawn, " * 230  # 5,060 characters; genart takes at most 4,000
UNREADABLE = "could not be read as an image (its contents are not a recognised image format). Allowed: PNG, JPEG"


def _call(defaults: dict, change: dict) -> list:
    unknown = set(change) - set(defaults)
    assert not unknown, f"no such argument: {unknown}"
    return list({**defaults, **change}.values())


def _defaults(**values):  # keyword order is the endpoint's argument order
    return values


GENERATE = _defaults(
    model="sd15",
    prompt="a cat",
    negative="",
    class_label="golden retriever",
    steps=2,
    guidance=7.5,
    width=64,
    height=64,
    seed=1,
    batch=1,
    scheduler="PNDM",
    refine=False,
)
COMPARE = _defaults(
    models=["sd15", "sd-turbo"],
    prompt="a cat",
    negative="",
    class_label="",
    steps=2,
    guidance=7.5,
    width=64,
    height=64,
    seed=1,
    scheduler="PNDM",
    own_defaults=True,
)
TRANSLATE = _defaults(
    model="sd15-img2img",
    image="@good.png",
    prompt="a cat",
    negative="",
    strength=0.75,
    image_guidance=0.0,
    steps=2,
    guidance=7.5,
    width=64,
    height=64,
    fit="resize",
    seed=1,
    batch=1,
    scheduler="PNDM",
    canny_low=100,
    canny_high=200,
)
INPAINT = _defaults(
    model="sd15-inpaint",
    editor={"background": "@good.png", "layers": [], "composite": None},
    mask="@mask.png",
    prompt="a cat",
    negative="",
    strength=1.0,
    blur=4,
    only_masked=False,
    padding=32,
    left=0,
    right=0,
    up=0,
    down=0,
    steps=2,
    guidance=7.5,
    width=64,
    height=64,
    seed=1,
    batch=1,
    scheduler="PNDM",
)
UPSCALE = _defaults(
    model="realesrgan-x4plus",
    image="@good.png",
    prompt="",
    negative="",
    noise_level=20,
    steps=2,
    guidance=9.0,
    tile=64,
    overlap=8,
    seed=1,
    reference=None,
)
VIDEO = _defaults(
    model="modelscope-t2v",
    prompt="a boat",
    negative="",
    image=None,
    frames=8,
    fps=6,
    steps=2,
    guidance=9.0,
    width=64,
    height=64,
    seed=5,
    scheduler="DPM++ 2M",
    decode_chunk=1,
    motion=0,
    noise_aug=0.0,
)


def generate(**change):
    return _call(GENERATE, change)


def compare(**change):
    return _call(COMPARE, change)


def translate(**change):
    return _call(TRANSLATE, change)


def inpaint(**change):
    return _call(INPAINT, change)


def upscale(**change):
    return _call(UPSCALE, change)


def video(**change):
    return _call(VIDEO, change)


def sets(
    a=("@good.png", "@good2.png"),
    b=("@good.png", "@good2.png"),
    a_folder="",
    metrics=("kid",),
    extractor="fid-inception",
    kid_subset=1000,
):
    return [list(a), a_folder, None, list(b), "", None, list(metrics), extractor, kid_subset]


def session(name="s", models=("sd15", "sd-turbo"), prompts="a red kite\na blue door", pairs=2):
    return [name, list(models), prompts, pairs]


GALLERY = "/leaderboard_gallery_drawbench"
CASES = [  # (id, endpoint, arguments, a part of the message that says what was wrong or what is allowed)
    ("generate-empty-prompt", "/generate", generate(prompt="   "), "The prompt is empty: sd15"),
    ("generate-long-prompt", "/generate", generate(prompt=LONG), "characters long; at most 4,000 are allowed"),
    ("generate-long-negative", "/generate", generate(negative=LONG), "The negative prompt is 5,060 characters long"),
    ("generate-steps-0", "/generate", generate(steps=0), "“Steps” must be a number from 1 to 500; got 0."),
    ("generate-steps-501", "/generate", generate(steps=501), "“Steps” must be a number from 1 to 500; got 501."),
    ("generate-steps-fraction", "/generate", generate(steps=2.5), "Steps must be a whole number from 1 to 500"),
    (
        "generate-guidance-negative",
        "/generate",
        generate(guidance=-1),
        "“Guidance (CFG) scale” must be a number from 0 to 50; got -1.",
    ),
    ("generate-guidance-51", "/generate", generate(guidance=51), "from 0 to 50; got 51."),
    ("generate-width-huge", "/generate", generate(width=10000), "“Width” must be a number from 32 to 256; got 10000."),
    ("generate-width-not-multiple", "/generate", generate(width=61), "use a multiple of 8 from 32 to 256"),
    (
        "generate-seed-negative",
        "/generate",
        generate(seed=-5),
        "“Seed (-1 = random)” must be a whole number from -1 to 4294967295; got -5.",
    ),
    ("generate-seed-huge", "/generate", generate(seed=2**40), "from -1 to 4294967295; got 1099511627776."),
    ("generate-batch-0", "/generate", generate(batch=0), "“Batch size” must be a number from 1 to 4; got 0."),
    ("generate-batch-99", "/generate", generate(batch=99), "“Batch size” must be a number from 1 to 4; got 99."),
    ("generate-unknown-model", "/generate", generate(model="no-such-model"), "not in the list of choices: ['ddpm"),
    ("generate-unknown-scheduler", "/generate", generate(scheduler="Bogus"), "Unknown scheduler 'Bogus'. Known"),
    (
        "generate-incompatible-scheduler",
        "/generate",
        generate(model="dit-xl-256", scheduler="PNDM"),
        "'PNDM' does not work with dit-xl-256. Compatible schedulers: DDPM",
    ),
    (
        "generate-unknown-class",
        "/generate",
        generate(model="dit-xl-256", scheduler="DDIM", class_label="5000"),
        "Class index 5000 is out of range: ImageNet classes are 0..999",
    ),
    ("generate-refiner-without-one", "/generate", generate(refine=True), "sd15 has no refiner; models with one"),
    (
        "compare-five-models",
        "/compare",
        compare(models=["sd15", "sd21", "sd-turbo", "sdxl-base", "pixart-sigma"]),
        "Compare takes 1 to 4 models; got 5",
    ),
    ("compare-no-models", "/compare", compare(models=[]), "Compare takes 1 to 4 models; got 0"),
    (
        "translate-text-as-png",
        "/translate",
        translate(image="@text.png"),
        f"'text.png' given as “Input image” {UNREADABLE}",
    ),
    (
        "translate-zero-bytes",
        "/translate",
        translate(image="@zero.png"),
        "'zero.png' given as “Input image” could not be read as an image (the file is empty)",
    ),
    ("translate-no-image", "/translate", translate(image=None), "No input image: upload one (PNG, JPEG"),
    (
        "translate-over-max-pixels",
        "/translate",
        translate(image="@huge.png"),
        "4100×4100 = 16,810,000 pixels; the limit is 16,777,216 (set GENART_MAX_PIXELS",
    ),
    (
        "translate-strength-1.5",
        "/translate",
        translate(strength=1.5),
        "“Strength (0 keeps the input)” must be a number from 0 to 1; got 1.5.",
    ),
    ("translate-unknown-fit", "/translate", translate(fit="stretch"), "not in the list of choices: ['resize', 'crop'"),
    (
        "translate-canny-reversed",
        "/translate",
        translate(model="controlnet-canny", scheduler="UniPC", canny_low=250, canny_high=10),
        "must satisfy 0 <= low < high <= 255",
    ),
    (
        "translate-empty-instruction",
        "/translate",
        translate(model="instruct-pix2pix", prompt="", scheduler="Euler a"),
        "instruct-pix2pix needs an edit instruction",
    ),
    (
        "inpaint-mask-other-shape",
        "/inpaint",
        inpaint(mask="@mask_tall.png"),
        "The mask is 32×48 but the image is 64×64: a mask must have the image's shape",
    ),
    ("inpaint-mask-not-an-image", "/inpaint", inpaint(mask="@text.png"), "'text.png' given as “…or upload a mask"),
    (
        "inpaint-editor-not-an-image",
        "/inpaint",
        inpaint(editor={"background": "@text.png", "layers": [], "composite": None}),
        UNREADABLE,
    ),
    (
        "inpaint-no-image",
        "/inpaint",
        inpaint(editor={"background": None, "layers": [], "composite": None}),
        "No input image: upload one into the editor",
    ),
    ("inpaint-empty-mask", "/inpaint", inpaint(mask="@mask_empty.png"), "The mask is empty: paint (white) over"),
    ("inpaint-no-mask", "/inpaint", inpaint(mask=None), "No mask: paint over the area to change, upload a mask"),
    (
        "inpaint-blur-999",
        "/inpaint",
        inpaint(blur=999),
        "“Mask blur (px, inside the mask)” must be a number from 0 to 64; got 999.",
    ),
    ("upscale-text-as-png", "/upscale", upscale(image="@text.png"), f"given as “Low-resolution input” {UNREADABLE}"),
    ("upscale-zero-bytes", "/upscale", upscale(image="@zero.png"), "could not be read as an image (the file is empty)"),
    ("upscale-over-max-pixels", "/upscale", upscale(image="@huge.png"), "(set GENART_MAX_PIXELS to change it)"),
    ("upscale-tile-1", "/upscale", upscale(tile=1), "“Tile size (input px)” must be a number from 32 to 2048; got 1."),
    ("upscale-overlap-too-big", "/upscale", upscale(overlap=60), "Tile overlap must be from 0 to 31 pixels for tile"),
    (
        "upscale-reference-other-shape",
        "/upscale",
        upscale(reference="@mask_tall.png"),
        "The reference is 32×48 but the upscaled image is 256×256",
    ),
    ("upscale-long-prompt", "/upscale", upscale(model="sd-x4-upscaler", prompt=LONG), "at most 4,000 are allowed"),
    ("video-frames-0", "/video", video(frames=0), "“Frames” must be a number from 1 to 64; got 0."),
    ("video-frames-999", "/video", video(frames=999), "“Frames” must be a number from 1 to 64; got 999."),
    (
        "video-frames-over-model-max",
        "/video",
        video(model="animatediff-sd15", scheduler="Euler", frames=64),
        "Frames must be a whole number from 1 to 32 for animatediff-sd15",
    ),
    (
        "video-frames-off-step",
        "/video",
        video(model="cogvideox-2b", scheduler="CogVideoX DDIM", frames=10),
        "cogvideox-2b makes 1 + 8·k frames",
    ),
    ("video-fps-1000", "/video", video(fps=1000), "“FPS” must be a number from 1 to 60; got 1000."),
    ("video-empty-prompt", "/video", video(prompt=""), "The prompt is empty: modelscope-t2v"),
    ("video-image-model-without-image", "/video", video(model="svd-xt", prompt=""), "svd-xt animates an image"),
    (
        "video-image-not-an-image",
        "/video",
        video(model="svd-xt", image="@text.png"),
        f"“Input image (image-to-video)” {UNREADABLE}",
    ),
    ("evaluate-one-image", "/evaluate", sets(b=["@good.png"]), "holds 1 image file(s); at least 2 are needed"),
    ("evaluate-folder-outside", "/evaluate", sets(a=[], a_folder="/etc"), "/etc is outside the folders genart may"),
    ("evaluate-folder-traversal", "/evaluate", sets(a=[], a_folder="../../etc"), "outside the folders genart may read"),
    (
        "evaluate-folder-name-too-long",
        "/evaluate",
        sets(a=[], a_folder="x" * 300),
        "(300 characters) cannot be used as a path: File name too long.",
    ),
    ("evaluate-nothing", "/evaluate", sets(a=[], b=[]), "no images given. Allowed: a .zip, a folder under"),
    ("evaluate-text-among-images", "/evaluate", sets(a=["@text.png", "@good.png"]), f"text.png {UNREADABLE}"),
    ("evaluate-not-a-zip", "/evaluate", sets(a=["@notazip.zip"]), "is not a readable zip file"),
    ("evaluate-no-metrics", "/evaluate", sets(metrics=()), "nothing chosen — allowed: fid, kid, cmmd, is, prdc"),
    (
        "evaluate-kid-subset-1",
        "/evaluate",
        sets(kid_subset=1),
        "“KID subset size” must be a whole number of at least 2; got 1.",
    ),
    ("evaluate-unknown-extractor", "/evaluate", sets(extractor="no-net"), "not in the list of choices: ['fid-incep"),
    ("pair-size-mismatch", "/evaluate_pair", ["@good.png", "@mask_tall.png", ["psnr"]], "both must be the same size"),
    ("pair-missing-reference", "/evaluate_pair", ["@good.png", None, ["psnr"]], "Upload both an image and its ref"),
    ("pair-text-as-png", "/evaluate_pair", ["@text.png", "@good.png", ["psnr"]], UNREADABLE),
    ("pair-no-metrics", "/evaluate_pair", ["@good.png", "@good.png", []], "nothing chosen — allowed: psnr, ssim"),
    ("autoencoder-no-image", "/evaluate_autoencoder", [None, ["sd-vae-ft-mse"]], "Upload an image to send through"),
    ("autoencoder-no-models", "/evaluate_autoencoder", ["@good.png", []], "Choose at least one autoencoder"),
    ("autoencoder-zero-bytes", "/evaluate_autoencoder", ["@zero.png", ["sd-vae-ft-mse"]], "(the file is empty)"),
    ("clip-no-files", "/evaluate_clip", [[], "a", "per_sample"], "Upload images (or a .zip) to score"),
    (
        "clip-prompt-count",
        "/evaluate_clip",
        [["@good.png", "@good2.png"], "one prompt", "per_sample"],
        "2 image(s) but 1 prompt(s): give one prompt per image",
    ),
    (
        "clip-text-file",
        "/evaluate_clip",
        [["@notes.txt"], "a", "per_sample"],
        "Invalid file type. Please upload a file that is one of these formats: ['.zip', 'image']",
    ),
    ("gallery-run-traversal", GALLERY, ["../../etc", "p1", "all"], "'../../etc' is not a run name"),
    ("gallery-run-absolute", GALLERY, ["/etc", "p1", "all"], "'/etc' is not a run name"),
    ("gallery-unknown-run", GALLERY, ["nosuchrun", "p1", "all"], "nosuchrun is not a leaderboard run (no run.json)"),
    ("gallery-no-run", "/leaderboard_gallery_parti", ["", "p1", "all"], "Choose a run (make one with `genart"),
    ("gallery-no-prompt", "/leaderboard_gallery_other", ["x", "", "all"], "Choose a prompt."),
    ("battle-empty-prompt", "/arena_battle", [" "], "The prompt is empty: type what both models should draw"),
    ("battle-long-prompt", "/arena_battle", ["x" * 1001], "1,001 characters long; at most 1,000 are allowed"),
    ("named-same-model", "/arena_named", ["a cat", "sd15", "sd15"], "Pick two different models"),
    ("battle-unknown-task", "/arena_battle", ["a cat", "no-task"], "not in the list of choices: ['text-to-image'"),
    ("battle-per-side-5", "/arena_battle", ["a cat", "text-to-image", None, None, 5], "“Images per side” must be"),
    ("battle-no-input-image", "/arena_battle", ["", "super-resolve"], "Super-resolve battles need an input image"),
    (
        "session-masks-by-order",
        "/arena_session_create",
        [*session(prompts=""), "inpaint", ["@good.png", "@good2.png"], ["@mask.png"]],
        "2 input images but 1 masks: upload one mask per image, in order.",
    ),
    ("named-unknown-model", "/arena_named", ["a cat", "sd15", "no-model"], "not in the list of choices: ['sd15'"),
    ("vote-forged-token", "/arena_vote", [FORGED_TOKEN, "a"], "This vote's ticket is not valid (it was altered"),
    ("vote-empty-token", "/arena_vote", ["", "a"], "This vote's ticket is not valid"),
    (
        "session-pairs-0",
        "/arena_session_create",
        session(pairs=0),
        "“Pairs per rater” must be a whole number from 1 to 500; got 0.",
    ),
    ("session-pairs-huge", "/arena_session_create", session(pairs=100000), "from 1 to 500; got 100000."),
    ("session-no-prompts", "/arena_session_create", session(prompts=""), "A session needs at least one prompt"),
    ("session-one-model", "/arena_session_create", session(models=["sd15"]), "at least two different models"),
    ("session-long-name", "/arena_session_create", session(name="s" * 500), "The session name is 500 characters"),
    ("join-bad-code", "/arena_session_join", ["BADCODE1", "Ada"], "A session code is 8 letters and digits such as"),
    ("join-unknown-code", "/arena_session_join", ["K7Q2MX4P", "Ada"], "There is no rating session with code K7Q2MX4P"),
    ("join-no-name", "/arena_session_join", ["{code}", " "], "Type your name (or any handle)"),
    ("join-long-name", "/arena_session_join", ["{code}", "x" * 500], "Your name is 500 characters; at most 60"),
    ("session-vote-forged-token", "/arena_session_vote", [FORGED_TOKEN, "a", "{code}", "Ada"], "ticket is not valid"),
    ("session-status-bad-code", "/arena_session_status", ["ZZZ"], "A session code is 8 letters and digits"),
    ("session-export-traversal", "/arena_session_export", ["../../x"], "got '../../x'"),
    ("gallery-seed-superscript", GALLERY, ["nosuchrun", "p1", "²"], "Seed '²' is not a seed of this run: choose 'all'"),
    ("gallery-seed-5000-digits", GALLERY, ["nosuchrun", "p1", "9" * 5000], "(5,000 characters) is not a seed of"),
    ("gallery-run-300-chars", GALLERY, ["r" * 300, "p1", "all"], "is not a run name: use up to 100 letters"),
]
