"""The evaluate task on image sets: numbers equal the metrics on the extractor's own features, cache reuse, bad input."""

import csv
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from genart_demo.errors import InputError
from genart_demo.metrics import frechet_distance_features
from genart_demo.metrics.inception_score import inception_score
from genart_demo.metrics.kid import kid
from genart_demo.metrics.prdc import prdc
from genart_demo.tasks.evaluate import SetsRequest, evaluate_sets, extractor_for


def make_set(folder, n, seed, size=(32, 32), mode="RGB", classes=None):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        sub = folder / str(classes[i]) if classes else folder
        sub.mkdir(exist_ok=True)
        Image.fromarray(arr).convert(mode).save(sub / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def sets(studio):
    root = studio.settings.output_dir / "eval-sets"
    return make_set(root / "a", 12, seed=1), make_set(root / "b", 10, seed=2)


def _features(studio, folder):
    import torch

    paths = sorted(folder.rglob("*.png"))
    batch = torch.from_numpy(np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])).permute(0, 3, 1, 2)
    return extractor_for(studio, "fid-inception")(batch)


def test_set_metrics_equal_the_metrics_on_the_extractors_features(studio, sets):
    result = evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1])))
    values = {(r["metric"], r["subject"]): r for r in result.rows}
    fa, fb = _features(studio, sets[0]), _features(studio, sets[1])
    a, b = fa["features"].numpy(), fb["features"].numpy()
    assert values[("FID", "B (10) vs A (12)")]["value"] == pytest.approx(frechet_distance_features(a, b), rel=1e-6)
    kid_mean, kid_std = kid(a, b, subset_size=10)
    assert values[("KID", "B (10) vs A (12)")]["value"] == pytest.approx(kid_mean, rel=1e-6, abs=1e-12)
    assert values[("KID", "B (10) vs A (12)")]["std"] == pytest.approx(kid_std, rel=1e-6, abs=1e-12)
    assert values[("IS", "set B (10)")]["value"] == pytest.approx(inception_score(fb["logits"].numpy(), splits=10)[0])
    expected = prdc(a, b)
    for metric in ("precision", "recall", "density", "coverage"):
        assert values[(metric.capitalize(), "B (10) vs A (12)")]["value"] == pytest.approx(expected[metric])
    info = result.info["extractor"]
    assert {r["extractor"] for r in result.rows} == {info["name"]}
    assert all(info["resize"] in r["convention"] for r in result.rows if r["metric"] == "FID")
    assert info["standin"] is True and info["id"].startswith("standin-")
    assert any("rank-deficient" in n for n in result.notes) and any("KID subsets hold 10" in n for n in result.notes)
    with open(result.csv_path) as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(result.rows) and float(written[0]["value"]) == pytest.approx(result.rows[0]["value"])
    assert json.loads(result.json_path.read_text())["info"]["n_a"] == 12


def test_second_comparison_reads_both_sets_from_the_cache(studio, sets, monkeypatch):
    first = evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1]), metrics=("fid",)))
    extractor = extractor_for(studio, "fid-inception")
    calls = []
    original = type(extractor).__call__
    monkeypatch.setattr(type(extractor), "__call__", lambda self, x: calls.append(len(x)) or original(self, x))
    second = evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1]), metrics=("fid",)))
    assert calls == []
    assert second.rows[0]["value"] == first.rows[0]["value"]
    assert sum("features read from the reference cache" in n for n in second.notes) == 2


def test_mixed_sizes_and_modes_are_normalised_and_stated(studio):
    root = studio.settings.output_dir / "eval-mixed"
    make_set(root / "a", 4, seed=3, size=(32, 32))
    make_set(root / "a", 3, seed=4, size=(40, 24), mode="L")
    make_set(root / "b", 6, seed=5)
    result = evaluate_sets(studio, SetsRequest(str(root / "a"), str(root / "b"), metrics=("fid",)))
    text = " ".join(result.notes)
    assert "sizes vary (2 distinct" in text and "converted to RGB: 3 L" in text
    assert np.isfinite(result.rows[0]["value"])


def test_zip_upload_with_escaping_member_is_read_without_extracting(studio, tmp_path, sets):
    archive = tmp_path / "gen.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(sets[1].glob("*.png"))[:4]:
            zf.write(p, p.name)
        zf.writestr("../../escape.png", (sets[1] / "000.png").read_bytes())
        zf.writestr("readme.txt", "not an image")
    result = evaluate_sets(studio, SetsRequest(str(sets[0]), [str(archive)], metrics=("fid", "kid")))  # uploaded
    assert result.info["n_b"] == 4
    text = " ".join(result.notes)
    assert "../../escape.png" in text and "readme.txt" in text
    assert not (tmp_path.parent / "escape.png").exists()


def test_bad_set_input_is_refused(studio, sets, tmp_path):
    one = make_set(studio.settings.output_dir / "eval-one", 1, seed=6)
    with pytest.raises(InputError, match="at least 2"):
        evaluate_sets(studio, SetsRequest(str(sets[0]), str(one)))
    outside = make_set(tmp_path / "outside", 3, seed=7)
    with pytest.raises(InputError, match="outside the folders genart may read"):
        evaluate_sets(studio, SetsRequest(str(sets[0]), str(outside)))
    with pytest.raises(InputError, match="allowed: fid, kid"):
        evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1]), metrics=("fid", "sharpness")))
    with pytest.raises(InputError, match="Unknown feature extractor"):
        evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1]), extractor="vgg"))
    with pytest.raises(InputError, match="is not a run name"):
        evaluate_sets(studio, SetsRequest(str(sets[0]), "leaderboard:../x"))
    with pytest.raises(InputError, match="no images given"):
        evaluate_sets(studio, SetsRequest(None, str(sets[1])))


def test_inception_score_needs_one_set_only(studio, sets):
    result = evaluate_sets(studio, SetsRequest(None, str(sets[1]), metrics=("is",)))
    assert [r["metric"] for r in result.rows] == ["IS"] and 1.0 <= result.rows[0]["value"] <= 1008


def test_a_set_given_alone_is_named_as_given_not_set_b(studio):
    """`genart eval is real/` labelled its only set "set B (generated)": a set without a partner is no set B."""
    real = make_set(studio.settings.output_dir / "alone" / "real", 4, seed=5, size=(24, 24), mode="L")  # notes name it
    seen = []
    result = evaluate_sets(
        studio, SetsRequest(None, str(real) + "/", metrics=("is",)), progress=lambda d, t, desc: seen.append(desc)
    )
    assert result.rows[0]["subject"] == "real (4)" and result.info["set_b"] == "real"
    text = json.dumps([result.rows, result.notes, result.info, seen])
    assert "set B" not in text and "generated" not in text
    assert any(n.startswith("real: ") for n in result.notes) and seen[-1].startswith("features of real")
    pair = evaluate_sets(studio, SetsRequest(str(real), str(real), metrics=("is",)))
    assert [r["subject"] for r in pair.rows] == ["set B (4)", "set A (4)"]


def test_intra_fid_and_accuracy_from_class_folders(studio):
    root = studio.settings.output_dir / "eval-classes"
    classes = [3] * 4 + [7] * 4
    make_set(root / "a", 8, seed=8, classes=classes)
    make_set(root / "b", 8, seed=9, classes=classes)
    result = evaluate_sets(studio, SetsRequest(str(root / "a"), str(root / "b"), metrics=("intra-fid", "accuracy")))
    rows = {r["metric"]: r["value"] for r in result.rows}
    assert set(rows) >= {"FID class 3", "FID class 7", "Intra-FID (mean)", "Accuracy top1", "Accuracy top5"}
    assert rows["Intra-FID (mean)"] == pytest.approx((rows["FID class 3"] + rows["FID class 7"]) / 2)
    assert 0.0 <= rows["Accuracy top1"] <= rows["Accuracy top5"] <= 1.0
    unlabelled = make_set(root / "plain", 4, seed=10)
    with pytest.raises(InputError, match="need class labels"):
        evaluate_sets(studio, SetsRequest(str(root / "a"), str(unlabelled), metrics=("accuracy",)))


def test_cmmd_row_equals_cmmd_on_its_own_clip_features(studio, sets):
    import torch

    from genart_demo.metrics.cmmd import cmmd
    from genart_demo.tasks.evaluate import cmmd_clip

    result = evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[1]), metrics=("cmmd", "fid")))
    values = {r["metric"]: r for r in result.rows}
    clip = cmmd_clip(studio)

    def feats(folder):
        paths = sorted(folder.rglob("*.png"))
        arrays = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
        return clip(torch.from_numpy(arrays).permute(0, 3, 1, 2))["features"].numpy()

    expected = cmmd(feats(sets[0]), feats(sets[1]))
    got = values["CMMD"]
    assert expected > 0 and got["value"] == pytest.approx(expected, rel=1e-5)
    assert got["subject"] == "B (10) vs A (12)" and got["n"] == 10
    assert got["extractor"] == clip.info.name != values["FID"]["extractor"]  # its own CLIP, not the FID network
    assert "σ=10" in got["convention"] and "all pairs incl. i=j" in got["convention"]
    assert any(n.startswith("CMMD: ") and "stand-in" in n for n in result.notes)
    same = evaluate_sets(studio, SetsRequest(str(sets[0]), str(sets[0]), metrics=("cmmd",)))
    assert [r["metric"] for r in same.rows] == ["CMMD"] and abs(same.rows[0]["value"]) < 1e-6
