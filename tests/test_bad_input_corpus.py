"""The bad-input corpus of issue 14, generated here (no committed binaries) and run through every entry point:
the CLI (predict, extract/train/evaluate arguments), decoding of uploaded bytes, zip unpacking, bundle loading and
the dataset loaders. Every input must be accepted or refused with one line naming it; nothing may raise anything
else, print a traceback, or change a file it was not asked to write. The counts per entry point are written to
``test-artifacts/bad_inputs.json`` (RELIABILITY.md quotes them)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import REPO_ROOT, tone, zip_bytes

from genre_core import archives, audio, cli, datasets
from genre_core.errors import InputError

RESULTS: dict[str, Counter] = {}
ARTIFACT = REPO_ROOT / "test-artifacts" / "bad_inputs.json"
FFN, CNN = REPO_ROOT / "assets" / "models" / "ffn_demo", REPO_ROOT / "assets" / "models" / "cnn_demo"


def _encoded(samples: np.ndarray, rate: int = 22050, file_format: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=file_format, subtype=subtype)
    return buffer.getvalue()


def audio_corpus() -> dict[str, bytes]:
    """File name -> content: good songs in every format, and about 35 kinds of bad, odd or hostile audio."""
    song = tone(440.0, 3.5)
    rng = np.random.default_rng(14)
    stereo_antiphase = np.stack([song * 1.8, -song * 1.8], axis=1)
    wav = _encoded(song)
    streaming = bytearray(wav)
    offset = streaming.index(b"data") + 4
    streaming[offset : offset + 4] = struct.pack("<I", 0xFFFFFFFF)
    return {
        "good.wav": wav, "good.flac": _encoded(song, file_format="FLAC"),
        "good.ogg": _encoded(song, file_format="OGG", subtype="VORBIS"),
        "good.mp3": _encoded(song, file_format="MP3", subtype="MPEG_LAYER_III"),
        "good.au": _encoded(song, file_format="AU"), "24bit.wav": _encoded(song, subtype="PCM_24"),
        "8bit.wav": _encoded(song, subtype="PCM_U8"), "ulaw.wav": _encoded(song, subtype="ULAW"),
        "double.wav": _encoded(song.astype(np.float64), subtype="DOUBLE"),
        "six-channels.wav": _encoded(np.repeat(song[:, None], 6, axis=1)),
        "8kHz.wav": _encoded(tone(440.0, 3.5, 8000), 8000), "96kHz.flac": _encoded(tone(440.0, 3.5, 96000), 96000,
                                                                                  "FLAC"),
        "streaming-length.wav": bytes(streaming), "clipping.wav": _encoded(np.clip(song * 10, -1, 1)),
        "empty.wav": b"", "text.mp3": b"this is not audio\n" * 50, "random.wav": rng.bytes(5000),
        "random.flac": rng.bytes(5000), "zip-as.mp3": zip_bytes({"a.txt": b"x"}),
        "png-as.ogg": b"\x89PNG\r\n\x1a\n" + rng.bytes(500), "header-only.wav": wav[:44],
        "truncated.wav": wav[: len(wav) // 2], "truncated.au": _encoded(song, file_format="AU")[:30000],
        "truncated.ogg": _encoded(song, file_format="OGG", subtype="VORBIS")[:6000],
        "truncated.mp3": _encoded(song, file_format="MP3", subtype="MPEG_LAYER_III")[:6000],
        "short.wav": _encoded(tone(440.0, 0.05)), "silent.wav": _encoded(np.zeros(22050, np.float32)),
        "nan.wav": _encoded(np.full(22050, np.nan, np.float32), subtype="FLOAT"),
        "inf.wav": _encoded(np.full(22050, np.inf, np.float32), subtype="FLOAT"),
        "x1e30.wav": _encoded(song * np.float32(1e30), subtype="FLOAT"),
        "noise1e-7.wav": _encoded((1e-7 * rng.standard_normal(77175)).astype(np.float32), subtype="FLOAT"),
        "dc-only.wav": _encoded(np.full(77175, 0.5, np.float32)),
        "antiphase.wav": _encoded(stereo_antiphase.astype(np.float32), subtype="FLOAT"),
        "4kHz.wav": _encoded(tone(440.0, 3.5, 4000), 4000), "192kHz.wav": _encoded(tone(440.0, 0.5, 192000), 192000),
        "$(touch pwned);`id`.wav": wav, "name\nwith newline.wav": wav, "ünïcødé 名前.wav": wav,
        "x" * 240 + ".wav": wav, "notes.txt": b"hello",
    }


def _one_line_refusal(error: InputError, label: str) -> bool:
    return "\n" not in str(error) and str(error).startswith(label) and bool(error.reason)


def _record(entry: str, outcome: str) -> None:
    RESULTS.setdefault(entry, Counter())[outcome] += 1


@pytest.fixture(scope="module", autouse=True)
def write_counts() -> None:
    yield
    ARTIFACT.parent.mkdir(exist_ok=True)
    summary = {entry: dict(sorted(counts.items())) for entry, counts in sorted(RESULTS.items())}
    ARTIFACT.write_text(json.dumps(summary, indent=2))


def test_uploaded_bytes_decode_or_are_refused_in_one_line() -> None:
    for name, content in audio_corpus().items():
        try:
            audio.load_audio(content, 22050, name=name)
        except InputError as error:
            assert _one_line_refusal(error, name), str(error)
            _record("decode uploaded bytes", "refused, one line")
        else:
            _record("decode uploaded bytes", "accepted")
    assert RESULTS["decode uploaded bytes"]["accepted"] >= 15


@pytest.mark.slow
def test_cli_predict_classifies_or_names_each_file_in_one_line(tmp_path: Path, capsys) -> None:
    corpus = audio_corpus()
    for name, content in corpus.items():
        (tmp_path / name).write_bytes(content)
    extra = [tmp_path / "missing.wav", tmp_path]  # a missing file and a folder
    files = [tmp_path / name for name in corpus] + extra
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    status = cli.main(["predict", "--bundle", str(FFN), "--bundle", str(CNN), "--json", "--top", "10",
                       *map(str, files)])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert status == 1 and len(payload) == len(files) and "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == sum("error" in item for item in payload)
    for item in payload:
        if "error" in item:
            assert "\n" not in item["error"]
            _record("CLI predict (2 models)", "refused, one line")
        else:
            assert len(item["predictions"]) == 2 and all(
                abs(sum(p["probabilities"].values()) - 1) < 1e-4 for p in item["predictions"])
            _record("CLI predict (2 models)", "classified")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()} == before
    assert not (tmp_path / "pwned").exists()


def zip_corpus() -> dict[str, bytes]:
    """Archive name -> content: about 20 hostile or damaged zips and two good ones."""
    link = zipfile.ZipInfo("blues/link.wav")
    link.external_attr = 0o120777 << 16

    def single(info: zipfile.ZipInfo, data: bytes, compression: int = zipfile.ZIP_STORED) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            archive.writestr(info, data)
        return buffer.getvalue()

    encrypted = bytearray(zip_bytes({"blues/a.wav": b"secret"}))  # set the "encrypted" flag in both headers
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        encrypted[encrypted.index(signature) + flag_offset] |= 0x1
    deflated = bytearray(single(zipfile.ZipInfo("blues/a.wav"), os.urandom(4000), zipfile.ZIP_DEFLATED))
    deflated[60:80] = bytes(20)
    bomb = single(zipfile.ZipInfo("blues/a.wav"), bytes(64 * 1024**2), zipfile.ZIP_DEFLATED)
    return {
        "good.zip": zip_bytes({"genres/blues/a.wav": b"a", "genres/rock/b.wav": b"b"}),
        "macos.zip": zip_bytes({"blues/a.wav": b"a", "__MACOSX/blues/._a.wav": b"x"}),
        "slip.zip": zip_bytes({"../evil.wav": b"x"}), "absolute.zip": zip_bytes({"/etc/evil": b"x"}),
        "drive.zip": zip_bytes({"C:/evil.wav": b"x"}), "nested-slip.zip": zip_bytes({"a/../../evil.wav": b"x"}),
        "link.zip": single(link, b"/etc/passwd"), "encrypted.zip": bytes(encrypted),
        "not-a-zip.zip": b"PK but not really", "random.zip": os.urandom(3000), "empty-file.zip": b"",
        "no-files.zip": zip_bytes({}), "only-folders.zip": single(zipfile.ZipInfo("blues/"), b""),
        "file-and-folder.zip": zip_bytes({"blues": b"x", "blues/a.wav": b"a"}),
        "long-name.zip": zip_bytes({"x" * 300 + "/a.wav": b"a"}), "deep.zip": zip_bytes({"d/" * 3000 + "a": b"a"}),
        "duplicate.zip": _duplicate_zip(),
        "corrupt-deflate.zip": bytes(deflated), "bomb.zip": bomb,
        "newline.zip": zip_bytes({"blues/a\nb.wav": b"a"}), "truncated.zip": zip_bytes({"blues/a.wav": b"a" * 999})[:60],
    }


def _duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, contextlib.suppress(UserWarning):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive.writestr("blues/a.wav", b"first")
            archive.writestr("blues/a.wav", b"second")
    return buffer.getvalue()


def test_zip_uploads_unpack_or_are_refused_in_one_line(tmp_path: Path) -> None:
    for name, content in zip_corpus().items():
        target = tmp_path / name.replace(".zip", "")
        try:
            archives.unpack_zip(io.BytesIO(content), target, name=name, max_bytes=32 * 1024**2)
        except InputError as error:
            assert _one_line_refusal(error, name), str(error)
            assert not target.exists()
            _record("unpack uploaded zip", "refused, one line")
        else:
            _record("unpack uploaded zip", "unpacked")
    assert not (tmp_path.parent / "evil.wav").exists() and RESULTS["unpack uploaded zip"]["unpacked"] == 2
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no leftovers


def _edit(key_path: tuple[str, ...], value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        values = json.loads((folder / "bundle.json").read_text())
        target = values
        for key in key_path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[key_path[-1]]
        else:
            target[key_path[-1]] = value
        (folder / "bundle.json").write_text(json.dumps(values))
    return edit


_DELETE = object()


def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(content)


BUNDLE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "intact": lambda folder: None,
    "no folder": lambda folder: shutil.rmtree(folder),
    "a file, not a folder": lambda folder: shutil.rmtree(folder) or folder.write_text("x"),
    "no bundle.json": lambda folder: (folder / "bundle.json").unlink(),
    "no model.keras": lambda folder: (folder / "model.keras").unlink(),
    "empty model.keras": _write("model.keras", b""),
    "random model.keras": _write("model.keras", os.urandom(2000)),
    "zip without a model": _write("model.keras", zip_bytes({"config.json": b"{}"})),
    "bundle.json not JSON": _write("bundle.json", b"{not json"),
    "bundle.json random bytes": _write("bundle.json", os.urandom(500)),
    "bundle.json a list": _write("bundle.json", b"[1, 2]"),
    "bundle.json nested 6000 deep": _write("bundle.json", b"[" * 6000 + b"]" * 6000),
    "schema version 99": _edit(("schema_version",), 99),
    "no input_shape": _edit(("input_shape",), _DELETE),
    "no standardizer": _edit(("standardizer",), _DELETE),
    "duplicate class names": _edit(("class_names",), ["rock", "rock", "metal", "disco"]),
    "class names not strings": _edit(("class_names",), [1, 2, 3, 4]),
    "fewer class names": _edit(("class_names",), ["rock", "metal"]),
    "standardizer too narrow": _edit(("standardizer", "mean"), [0.0] * 10),
    "standardizer std 0": _edit(("standardizer", "std"), [0.0] * 57),
    "standardizer NaN": _edit(("standardizer", "mean"), [float("nan")] * 57),
    "feature kind unknown": _edit(("feature_kind",), "chroma"),
    "float sample rate": _edit(("feature_config", "sample_rate"), 22050.5),
    "unknown feature setting": _edit(("feature_config", "window"), "hann"),
    "epochs a string": _edit(("train_config", "epochs"), "20"),
    "unknown preset": _edit(("train_config", "preset"), "resnet"),
    "history not numbers": _edit(("history", "loss"), ["x"]),
}


@pytest.mark.slow
def test_bundles_load_or_are_refused_in_one_line(tmp_path: Path) -> None:
    from genre_core.bundles import load_bundle

    for name, damage in BUNDLE_DAMAGE.items():
        folder = Path(shutil.copytree(FFN, tmp_path / name.replace(" ", "_")))
        damage(folder)
        try:
            load_bundle(folder)
        except InputError as error:
            assert _one_line_refusal(error, str(folder)) and str(error).count(str(folder)) == 1, str(error)
            _record("load bundle", "refused, one line")
        else:
            _record("load bundle", "loaded")
    assert RESULTS["load bundle"]["loaded"] == 1


def _npy_bomb(folder: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 57)})
    (folder / "train" / "X.npy").write_bytes(header.getvalue() + bytes(200))


def dataset_corpus(root: Path) -> dict[str, Path]:
    """Name -> path of about 20 bad data sets of every kind the loaders accept."""
    made: dict[str, Path] = {}

    def folder(name: str) -> Path:
        made[name] = root / name.replace(" ", "_")
        made[name].mkdir()
        return made[name]

    def file(name: str, suffix: str, content: bytes) -> None:
        made[name] = root / (name.replace(" ", "_") + suffix)
        made[name].write_bytes(content)

    made["missing"] = root / "missing"
    folder("empty folder")
    (folder("genres without audio") / "blues").mkdir()
    (made["genres without audio"] / "blues" / "a.txt").write_text("x")
    (folder("only damaged audio") / "blues").mkdir()
    (made["only damaged audio"] / "blues" / "a.wav").write_bytes(b"RIFF" + os.urandom(100))
    linked = folder("linked genre")
    (linked / "rock").mkdir()
    soundfile.write(linked / "rock" / "rock.00000.wav", tone(440.0, 1.0), 22050)
    (linked / "rock2").symlink_to(linked / "rock")
    file("csv empty", ".csv", b"")
    file("csv no label", ".csv", b"filename,length,a\nx.wav,1,2\n")
    file("csv random", ".csv", os.urandom(300))
    file("json deep", ".json", b'{"mapping": ' + b"[" * 6000 + b"]" * 6000 + b"}")
    file("json wrong keys", ".json", b'{"a": 1}')
    file("json not json", ".json", b"{")
    file("json ragged", ".json", json.dumps({"mapping": ["a", "b"], "labels": [0, 1], "mfcc": [[[1.0]], [[1.0, 2.0]]]})
         .encode())
    file("unknown extension", ".xyz", b"x")
    for name, features, labels in [("npy bomb", None, None), ("npy random", None, None),
                                   ("npy object labels", np.zeros((2, 5)), np.array(["a", "b"], dtype=object)),
                                   ("npy row mismatch", np.zeros((2, 5)), np.array(["a"]))]:
        base = folder(name)
        for part in ("train", "test"):
            (base / part).mkdir()
            np.save(base / part / "X.npy", np.zeros((2, 5)) if features is None else features)
            np.save(base / part / "labels.npy", np.array(["a", "b"]) if labels is None else labels,
                    allow_pickle=labels is not None and labels.dtype == object)
    _npy_bomb(made["npy bomb"])
    (made["npy random"] / "train" / "X.npy").write_bytes(os.urandom(300))
    return made


def test_dataset_loaders_load_or_refuse_in_one_line(tmp_path: Path) -> None:
    for name, path in dataset_corpus(tmp_path).items():
        try:
            datasets.load_dataset(path, kinds=["summary"], n_jobs=1, cache_dir=None)
        except InputError as error:
            assert "\n" not in str(error) and str(path) in str(error), (name, str(error))
            _record("load dataset", "refused, one line")
        else:
            _record("load dataset", "loaded")
    assert RESULTS["load dataset"]["loaded"] == 0


def test_cli_arguments_are_refused_in_one_line_before_any_work(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "songs").mkdir()
    (tmp_path / "songs" / "song.wav").write_text("keep me")
    commands = [
        ["extract", "--dataset", "demo", "--out", str(tmp_path / "file")],
        ["extract", "--dataset", "demo", "--out", str(tmp_path / "file" / "x")],
        ["extract", "--dataset", "demo", "--out", str(tmp_path / "o"), "--jobs", "0"],
        ["extract", "--dataset", str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
        ["train", "--dataset", "demo", "--preset", "ffn_mfcc", "--out", str(tmp_path / "songs")],
        ["train", "--dataset", "demo", "--preset", "ffn_mfcc", "--out", str(tmp_path / "file")],
        ["train", "--dataset", "demo", "--preset", "ffn_mfcc", "--out", str(tmp_path / "file" / "x")],
        ["train", "--dataset", "demo", "--preset", "ffn_mfcc", "--out", str(tmp_path / "b"), "--epochs", "0"],
        ["train", "--dataset", "demo", "--preset", "ffn_mfcc", "--out", str(tmp_path / "b"), "--cache",
         str(tmp_path / "file")],
        ["evaluate", "--bundle", str(FFN), "--dataset", "demo", "--report", str(tmp_path)],
        ["evaluate", "--bundle", str(tmp_path / "songs"), "--dataset", "demo"],
        ["predict", "--bundle", str(tmp_path / "file"), str(tmp_path / "file")],
        ["predict", "--bundle", str(FFN), "--top", "-1", str(tmp_path / "file")],
        ["trust", "--bundle", str(FFN), "--dataset", "demo"],
    ]
    for command in commands:
        try:
            status = cli.main(command)
        except SystemExit as usage:  # argparse: a usage line and one error line, status 2
            status = usage.code
        err = capsys.readouterr().err
        assert status in (1, 2) and "Traceback" not in err, (command, err)
        assert err.count("\n") == 1 or (status == 2 and err.splitlines()[-1].startswith("python -m genre_core")), err
        _record("CLI arguments", "refused, one line" if status == 1 else "usage error (argparse)")
    assert (tmp_path / "songs" / "song.wav").read_text() == "keep me" and (tmp_path / "file").read_text() == "x"
