"""FID, KID and IS of images through genart's evaluate path equal torchmetrics' on the same tiny extractor."""

import numpy as np
import pytest
import torch
from PIL import Image

from genart_demo.metrics.extractors import as_feature_module, load_extractor
from genart_demo.tasks.evaluate import SetsRequest, evaluate_sets


class _ToDouble(torch.nn.Module):
    def forward(self, x):
        return x.double()


@pytest.fixture(scope="module")
def image_sets(studio):
    rng = np.random.default_rng(11)
    root = studio.settings.output_dir / "tm-sets"
    batches = []
    for name, n, shift in (("real", 24, 0), ("fake", 24, 40)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        arrays = (rng.integers(0, 216, (n, 32, 32, 3)) + shift).astype(np.uint8)
        for i, arr in enumerate(arrays):
            Image.fromarray(arr).save(folder / f"{i:02d}.png")
        batches.append(torch.from_numpy(arrays).permute(0, 3, 1, 2).contiguous())  # (n, 3, 32, 32) uint8
    return root / "real", root / "fake", batches


def test_fid_kid_is_equal_torchmetrics_on_the_same_standin(studio, image_sets):
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    real_dir, fake_dir, (real, fake) = image_sets
    n = real.shape[0]
    ours = evaluate_sets(
        studio,
        SetsRequest(str(real_dir), str(fake_dir), metrics=("fid", "kid", "is"), kid_subset_size=n, kid_subsets=1),
    )
    values = {(r["metric"], r["subject"]): r["value"] for r in ours.rows}
    extractor = load_extractor("fid-inception", standin=True)  # the same seeded stand-in the studio uses
    assert extractor.info.id == ours.info["extractor"]["id"]

    fid = FrechetInceptionDistance(feature=as_feature_module(extractor))
    fid.update(real, real=True)
    fid.update(fake, real=False)
    assert values[("FID", f"B ({n}) vs A ({n})")] == pytest.approx(float(fid.compute()), rel=1e-4)

    # One subset of all n images: torchmetrics' own sampling is then a permutation, which MMD² does not see.
    # torchmetrics computes the kernel in the features' dtype; KID is a small difference of large kernel sums, so
    # with float32 features it is off by ~1e-3 relative (measured 1.3e-3 here). genart computes in float64; fed
    # the same float32 features as float64, torchmetrics agrees to rounding.
    double = as_feature_module(extractor)
    double_features = torch.nn.Sequential(double)
    double_features.num_features = double.num_features
    double_features.append(_ToDouble())
    for module, rel in ((double_features, 1e-9), (as_feature_module(extractor), 5e-3)):
        kid = KernelInceptionDistance(feature=module, subsets=1, subset_size=n)
        kid.update(real, real=True)
        kid.update(fake, real=False)
        assert values[("KID", f"B ({n}) vs A ({n})")] == pytest.approx(float(kid.compute()[0]), rel=rel)

    # IS with one split: torchmetrics' shuffle and std convention drop out; genart's 10-split value must equal
    # the mean over torchmetrics' splits when both take the same images in each split
    logits = extractor(fake)["logits"].double()
    inception = InceptionScore(feature=as_feature_module(extractor, "logits"), splits=1)
    inception.update(fake)
    tm_one_split = float(inception.compute()[0])
    p = logits.softmax(1)
    direct = float((p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean().exp())
    assert tm_one_split == pytest.approx(direct, rel=1e-5)
    from genart_demo.metrics.inception_score import inception_score

    assert inception_score(logits, splits=1)[0] == pytest.approx(tm_one_split, rel=1e-5)
    assert values[("IS", f"set B ({n})")] == pytest.approx(inception_score(logits, splits=10)[0], rel=1e-6)
