"""Example inputs the studio ships (drawn by make.py, no outside pictures), and the example rows each tab offers."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).parent
FACADE_LABELS = EXAMPLES_DIR / "facade-labels.png"  # 256×256 CMP-style facade label map (pix2pix-facades' input)
SCENE = EXAMPLES_DIR / "scene.png"  # 256×192 photo-like landscape with a house
SCENE_MASK = EXAMPLES_DIR / "scene-mask.png"  # 256×192, white over the scene's house

# Translate: (model, input image, prompt), in the /translate form's order.
TRANSLATE_EXAMPLES = [
    ("pix2pix-facades", FACADE_LABELS, ""),
    ("sd15-img2img", SCENE, "an oil painting of a cottage by a lake, warm evening light"),
    ("instruct-pix2pix", SCENE, "make it winter, snow on the hills"),
    ("controlnet-canny", FACADE_LABELS, "a red brick townhouse, photo"),
]
# Inpaint: (model, input image, mask, prompt, outpaint left, right).
INPAINT_EXAMPLES = [
    ("sd15-inpaint", SCENE, SCENE_MASK, "a small stone chapel", 0, 0),
    ("sd15-inpaint", SCENE, None, "wide rolling hills", 64, 64),
]
# Super-resolve: (model, low-resolution input, prompt, high-resolution reference); the input is the scene shrunk 4×,
# so the scene itself is the reference an ×4 upscaler's result is scored against.
SCENE_SMALL = EXAMPLES_DIR / "scene-small.png"  # 64×48, the scene box-filtered down 4×
UPSCALE_EXAMPLES = [
    ("sd-x4-upscaler", SCENE_SMALL, "a red-roofed house by a lake under a blue sky", SCENE),
    ("realesrgan-x4plus", SCENE_SMALL, "", SCENE),
]
# Video: (model, prompt, input image); image-to-video models animate the image and take no prompt.
VIDEO_EXAMPLES = [
    ("modelscope-t2v", "a sailing boat drifting on a calm lake at sunset", None),
    ("animatediff-sd15", "clouds rolling over green hills, timelapse", None),
    ("cogvideox-2b", "a red-roofed cottage by a lake, the camera slowly circling it", None),
    ("wan21-t2v-1-3b", "a cat walking through tall grass in the wind, soft afternoon light", None),
    ("ltx-video", "waves breaking on a rocky shore, the camera slowly pushing in", None),
    ("svd-xt", "", SCENE),
]
