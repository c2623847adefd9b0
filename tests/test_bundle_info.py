"""`genre_core.bundle_info`: what a bundle's ``bundle.json`` says without loading the model; default bundles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genre_core import bundle_files, paths
from genre_core.bundle_info import (
    CNN, FFN, BundleInfo, default_bundle_folder, read_bundle_info, role_of, scan_bundles,
)
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.errors import InputError


def write_metadata(folder: Path, values: dict | str) -> str:
    folder.mkdir(parents=True)
    text = values if isinstance(values, str) else json.dumps(values)
    (folder / bundle_files.METADATA_FILE).write_text(text, encoding="utf-8")
    return str(folder.resolve())


def metadata(kind: str, metrics: object = None, **extra: object) -> dict:
    return {"feature_kind": kind, "class_names": ["blues", "rock"], "metrics": metrics, **extra}


@pytest.fixture()
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    pretrained, workspace_models = tmp_path / "pretrained", tmp_path / "models"
    monkeypatch.setattr(paths, "PRETRAINED_DIR", pretrained)
    monkeypatch.setattr(paths, "WORKSPACE_MODELS_DIR", workspace_models)
    return pretrained, workspace_models


def test_roles_follow_the_feature_kind() -> None:
    assert (role_of(LOG_MEL), role_of(SUMMARY), role_of(MFCC)) == (CNN, FFN, FFN)


@pytest.mark.parametrize(("metrics", "accuracy"), [
    ({"accuracy": 0.75}, 0.75),
    ({"parts": {"test": {"segment_metrics": {"accuracy": 0.5}}}}, 0.5),
    ({"accuracy": True}, None),
    ({"parts": ["test"]}, None),
    (None, None),
])
def test_test_accuracy_is_read_flat_or_from_a_report(tmp_path: Path, metrics: object, accuracy: float | None) -> None:
    folder = write_metadata(tmp_path / "b", metadata(SUMMARY, metrics))
    info = read_bundle_info(folder, 0, pretrained=False)
    assert info == BundleInfo(folder, "b", SUMMARY, ("blues", "rock"), accuracy, False)
    assert info.label == "b (workspace)" and info.role == FFN


def test_shipped_bundles_are_labelled_with_what_they_are_for(tmp_path: Path) -> None:
    folder = write_metadata(tmp_path / "cnn_gtzan_transfer", metadata(LOG_MEL, name="transfer"))
    assert read_bundle_info(folder, 0, pretrained=True).label == "transfer (pretrained: real music: transfer from musicnn)"
    other = write_metadata(tmp_path / "mine", metadata(LOG_MEL))
    assert read_bundle_info(other, 0, pretrained=True).label == "mine (pretrained)"


@pytest.mark.parametrize("text", ["{not json", json.dumps({"class_names": []}), "[1, 2]"])
def test_unreadable_metadata_is_one_error_naming_the_folder(tmp_path: Path, text: str) -> None:
    folder = write_metadata(tmp_path / "broken", text)
    with pytest.raises(InputError, match=f"^{folder}: bundle.json is unreadable"):
        read_bundle_info(folder, 0, pretrained=False)


def test_scan_lists_pretrained_then_workspace_and_names_the_broken(roots: tuple[Path, Path]) -> None:
    pretrained, workspace_models = roots
    write_metadata(pretrained / "ffn_demo", metadata(SUMMARY))
    write_metadata(workspace_models / "my_cnn", metadata(LOG_MEL))
    broken = write_metadata(workspace_models / "broken", "{")
    write_metadata(workspace_models / ".hidden", metadata(LOG_MEL))
    calls: list[tuple[str, bool]] = []

    def reader(folder: str, mtime_ns: int, pretrained: bool) -> BundleInfo:
        calls.append((Path(folder).name, pretrained))
        assert mtime_ns == (Path(folder) / bundle_files.METADATA_FILE).stat().st_mtime_ns
        return read_bundle_info(folder, mtime_ns, pretrained)

    found, problems = scan_bundles(reader)
    assert [(info.name, info.pretrained) for info in found] == [("ffn_demo", True), ("my_cnn", False)]
    assert problems == [f"{broken}: bundle.json is unreadable (JSONDecodeError)"]
    assert ("ffn_demo", True) in calls and ".hidden" not in [name for name, _ in calls]


def test_the_default_bundle_is_the_first_shipped_one_present(roots: tuple[Path, Path]) -> None:
    pretrained, _ = roots
    assert default_bundle_folder(CNN) is None
    mini = write_metadata(pretrained / "cnn_gtzan_mini", metadata(LOG_MEL))
    assert default_bundle_folder(CNN) == mini
    transfer = write_metadata(pretrained / "cnn_gtzan_transfer", metadata(LOG_MEL))
    assert default_bundle_folder(CNN) == transfer and default_bundle_folder(FFN) is None
