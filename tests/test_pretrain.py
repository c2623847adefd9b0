"""Tests of `genre_core.pretrain`: choice by validation accuracy, reproducible bundles, model cards, and
the ffn_gtzan_features recipe on the real table with a tiny search."""

from __future__ import annotations

import io
import zipfile

import h5py
import numpy as np
import pytest
from helpers import tiny_dataset

from genre_core import model_cards, pretrain
from genre_core.bundles import load_bundle
from genre_core.config import FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.splits import grouped_kfold

FEATURES = FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=2, n_mels=16, n_mfcc=13)
QUICK = {"preset": "ffn_mfcc", "hyper": {"hidden": [16]}, "epochs": 2, "batch_size": 8}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset(rows=60, feature_config=FEATURES)


@pytest.mark.slow
def test_grouped_bundle_is_reproducible_and_its_card_reports_it(dataset, tmp_path):
    first = pretrain.grouped_bundle(dataset, pretrain.train_config(QUICK), "tiny")
    second = pretrain.grouped_bundle(dataset, pretrain.train_config(QUICK), "tiny")

    assert first.metrics["parts"] == second.metrics["parts"] and first.history == second.history
    for mine, theirs in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert first.metrics["training"]["epochs_run"] == 2 and first.train_config.seed == pretrain.SEED
    assert first.metrics["split"]["tracks"] == {"train": 18, "val": 6, "test": 6}

    card = model_cards.grouped_card(
        first, dataset, title="tiny card", about="About it.", data="Tones", limits=("- A limit.",)
    )
    test = first.metrics["test"]
    assert card.startswith("# tiny card\n\nAbout it.\n") and "- A limit." in card and "- Tones: 30 tracks" in card
    assert f"| segment accuracy | {model_cards.percent(test['accuracy'])} |" in card
    assert model_cards.percent(first.metrics["baselines"]["logistic_regression_accuracy"]) in card
    assert "The test part holds 6 tracks (12 windows)" in card and "python -m genre_core pretrain --only tiny" in card

    folder = pretrain.write_bundle(first, card, tmp_path / "tiny")
    assert (folder / pretrain.CARD_FILE).read_text() == card
    loaded = load_bundle(folder)
    assert loaded.metrics["test"] == test
    np.testing.assert_allclose(
        loaded.predict_proba(dataset.features["summary"]), first.predict_proba(dataset.features["summary"]), atol=1e-6
    )
    with zipfile.ZipFile(folder / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")))
        assert "optimizer" not in weights  # no optimiser state in a shipped file


@pytest.mark.slow
def test_select_config_picks_the_best_mean_validation_accuracy(dataset):
    folds = grouped_kfold(dataset, k=2, seed=0, val_fraction=0.2)
    candidates = [pretrain.train_config({**QUICK, "epochs": 1}), pretrain.train_config({**QUICK, "epochs": 4})]
    lines: list[str] = []

    chosen, results = pretrain.select_config(dataset, folds, candidates, log=lines.append)

    means = [result["summary"]["val"]["accuracy"]["mean"] for result in results]
    assert chosen == int(np.argmax(means)) and len(results) == 2
    assert [result["train_config"]["epochs"] for result in results] == [1, 4]
    assert lines[1].startswith("  candidate 2/2: validation accuracy ")
    no_val = [fold.__class__(fold.train, fold.val[:0], fold.test, fold.protocol) for fold in folds]
    with pytest.raises(InputError, match="validation part"):
        pretrain.select_config(dataset, no_val, candidates[:1], log=lines.append)


def test_unknown_names_and_missing_sources_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="unknown bundle 'resnet'"):
        pretrain.pretrain(pretrain.PretrainSources(), tmp_path, only=["resnet"])
    with pytest.raises(InputError, match="--gtzan-audio: needed to build cnn_gtzan_mini"):
        pretrain.pretrain(pretrain.PretrainSources(), tmp_path, only=["cnn_gtzan_mini"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ffn_recipe_on_the_real_table_with_a_tiny_search(gtzan_csv, sturm_split_dir, monkeypatch):
    """The whole recipe with two short candidates: the choice follows validation accuracy (trained on the
    train parts), the chosen one is refitted on every non-test track, and the shipped model (trained on fold
    1's whole train list) scores exactly what fold 1 scored in the cross-validation."""
    quick = {key: value for key, value in QUICK.items() if key != "preset"}
    monkeypatch.setattr(pretrain, "FFN_CANDIDATES", ({**quick, "epochs": 1}, {**quick, "epochs": 3}))
    sources = pretrain.PretrainSources(gtzan_csv=gtzan_csv, splits_dir=sturm_split_dir)

    bundle, card = pretrain.build_ffn_gtzan_features(sources, log=lambda line: None)

    cv = bundle.metrics["cross_validation"]
    candidates = cv["selection"]["candidates"]
    means = [entry["summary"]["val"]["accuracy"]["mean"] for entry in candidates]
    assert cv["selection"]["chosen"] == int(np.argmax(means))
    assert all(fold["split"]["tracks"]["val"] > 80 for entry in candidates for fold in entry["folds"])
    assert bundle.train_config.to_dict() == candidates[cv["selection"]["chosen"]]["train_config"]
    assert bundle.split_description["protocol"] == "artist-filtered"
    assert bundle.split_description["details"]["fold"] == 1
    listed = {
        line.split("\t")[0].removeprefix("./").removesuffix(".wav").replace("_", ".")
        for line in (sturm_split_dir / "f1_train.txt").read_text().splitlines() if line.strip()
    }
    assert set(bundle.split_description["track_ids"]["train"]) == listed
    assert bundle.split_description["rows"]["val"] == 0
    assert bundle.metrics["test"]["accuracy"] == cv["artist_filtered"]["folds"][0]["test"]["accuracy"]
    assert all(fold["split"]["tracks"]["val"] == 0 for fold in cv["artist_filtered"]["folds"] + cv["random"]["folds"])
    assert bundle.feature_config is None and len(bundle.class_names) == 10
    assert [fold["split"]["protocol"] for fold in cv["random"]["folds"]] == ["kfold"] * pretrain.RANDOM_FOLDS
    reference = cv["selection"]["validation_baselines"]["logistic_regression_accuracy"]
    assert 0.3 < reference["mean"] < 0.8 and len(reference["values"]) == 3
    assert f"Its fold-1 test accuracy is **{model_cards.percent(bundle.metrics['test']['accuracy'])}**" in card
    assert "The goal was to beat every baseline on the artist-filtered folds: it was" in card
    assert "| artist-filtered 3-fold, mean ± std |" in card and f"| {cv['selection']['chosen'] + 1} (chosen) |" in card
    assert f"| – | logistic_regression (reference, fitted on the train parts) | {model_cards.mean_std_text(reference)} |" in card
    assert all(key in bundle.metrics for key in ("parts", "baselines", "split", "training"))
