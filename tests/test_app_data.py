"""The app frame, the Start and Data pages and their shared UI layer (`pages/common.py`), driven by AppTest.

Every test works in a temporary workspace (`paths.DATA_DIR` and friends patched, a 1-track-per-genre demo)
with cheap feature settings (8 kHz, 5 windows per track).

Note: with a ``pages/`` folder beside ``app.py``, Streamlit runs a page reached by ``switch_page`` (or by a
direct URL on a fresh server) as a stand-alone script, without ``app.py`` (see the report to the lead), so
page tests do not see the sidebar; the sidebar is tested on the default page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import REPO_ROOT, tone, zip_bytes
from helpers import APP, charts, plotly_array, wav_bytes
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from genre_core import bundle_files, bundle_info, dataset_choice, paths, uploads
from genre_core.config import FeatureConfig
from genre_core.markdown import md
from pages import common

DATA_PAGE = "pages/data.py"
TIMEOUT = 300
CHEAP = FeatureConfig(sample_rate=8000, segments_per_track=5, n_mels=64, n_mfcc=13)


@pytest.fixture(scope="module", autouse=True)
def small_demo(workspace: Path) -> Iterator[None]:
    """Every test here works in this module's `workspace`, with a 1-track-per-genre demo."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(dataset_choice.DEMO_TRACKS_ENV, "1")
        yield


def start_app(spec: dataset_choice.DatasetSpec | None = None, page: str | None = None) -> AppTest:
    """Run the app (optionally with an active dataset spec already in the session) and switch to ``page``."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if spec is not None:
        app.session_state[common.DATASET_SPEC_KEY] = spec
    app.run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def choose_source(app: AppTest, kind: str, path: str | None = None) -> AppTest:
    app.radio(key="data.source").set_value(kind).run()
    if path is not None:
        app.text_input(key=f"data.path.{kind}").set_value(path).run()
    return app


def click_load(app: AppTest) -> AppTest:
    app.button(key="data.load").click().run(timeout=TIMEOUT)
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]
    return app


def metric_values(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def plotly_charts(app: AppTest) -> list:
    return list(app.get("plotly_chart"))


# ------------------------------------------------------------------------------------------- app frame ----
def test_start_page_explains_the_app_and_says_nothing_is_loaded_yet() -> None:
    app = start_app()
    assert app.title[0].value == "GenreLens"
    assert {"The pages", "How honest numbers work", "Loaded now"} <= {header.value for header in app.subheader}
    page_text = " ".join(item.value for item in app.main.markdown)
    for page in ("Data", "Train", "Evaluate", "Browse & Grad-CAM", "SHAP", "Your song"):
        assert f"**{page}**" in page_text
    assert "synthetic" in page_text and "artist" in page_text and "segment" in page_text
    sidebar_text = " ".join(item.value for item in app.sidebar.markdown)
    assert "SYNTHETIC" in sidebar_text and "not loaded yet" in sidebar_text
    assert "No models yet" in " ".join(caption.value for caption in app.sidebar.caption)
    assert [box.options for box in app.sidebar.selectbox] == [["none"], ["none"]]


def write_bundle_metadata(folder: Path, feature_kind: str, classes: list[str], metrics: dict) -> str:
    folder.mkdir(parents=True)
    metadata = {"schema_version": 1, "name": folder.name, "feature_kind": feature_kind, "class_names": classes,
                "metrics": metrics}
    (folder / bundle_files.METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    return str(folder.resolve())


def test_sidebar_offers_bundles_per_role_with_classes_and_test_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pretrained, workspace_models = tmp_path / "pretrained", tmp_path / "models"
    monkeypatch.setattr(paths, "PRETRAINED_DIR", pretrained)
    monkeypatch.setattr(paths, "WORKSPACE_MODELS_DIR", workspace_models)
    write_bundle_metadata(pretrained / "ffn_gtzan_features", "summary", ["blues", "rock"], {"accuracy": 0.6})
    ffn_demo = write_bundle_metadata(pretrained / "ffn_demo", "summary", ["disco", "metal"], {"accuracy": 0.75})
    cnn_gtzan = write_bundle_metadata(pretrained / "cnn_gtzan_mini", "log_mel", ["blues", "rock"], {})
    report = {"parts": {"test": {"segment_metrics": {"accuracy": 0.5}}}}
    my_cnn = write_bundle_metadata(workspace_models / "my_cnn", "log_mel", ["jazz", "pop"], report)
    (workspace_models / "broken").mkdir()
    (workspace_models / "broken" / bundle_files.METADATA_FILE).write_text("{not json", encoding="utf-8")

    app = start_app()
    ffn, cnn = app.selectbox(key="sidebar.FFN_bundle"), app.selectbox(key="sidebar.CNN_bundle")
    assert ffn.value == ffn_demo  # the demo bundle is preferred over the GTZAN one
    assert cnn.value == cnn_gtzan
    assert ffn.options == ["none", "ffn_demo (pretrained: synthetic demo)",
                           "ffn_gtzan_features (pretrained: real music: Kaggle GTZAN table)"]
    assert cnn.options == ["none", "cnn_gtzan_mini (pretrained: from-scratch comparison)", "my_cnn (workspace)"]
    captions = [caption.value for caption in app.sidebar.caption]
    assert "summary model, 2 classes (disco, metal), test accuracy 75.0%" in captions
    assert "log_mel model, 2 classes (blues, rock), not evaluated" in captions
    assert any("broken" in caption and "unreadable" in caption for caption in captions)

    assert app.session_state[common.BUNDLE_KEYS[bundle_info.FFN]] == ffn_demo

    chosen = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a session that picked its own CNN earlier
    chosen.session_state[common.BUNDLE_KEYS[bundle_info.CNN]] = my_cnn
    chosen.run()
    assert chosen.selectbox(key="sidebar.CNN_bundle").value == my_cnn
    assert "log_mel model, 2 classes (jazz, pop), test accuracy 50.0%" in [c.value for c in chosen.sidebar.caption]
    assert any(r"my\_cnn (workspace)" in item.value for item in chosen.main.markdown)  # the Start page agrees


def test_a_bundle_saved_or_changed_while_the_app_runs_is_listed_at_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidebar reads each bundle.json once per modification (a cache), yet never shows a stale list."""
    workspace_models = tmp_path / "models"
    monkeypatch.setattr(paths, "PRETRAINED_DIR", tmp_path / "pretrained")
    monkeypatch.setattr(paths, "WORKSPACE_MODELS_DIR", workspace_models)
    app = start_app()
    assert app.selectbox(key="sidebar.FFN_bundle").options == ["none"]
    folder = write_bundle_metadata(workspace_models / "fresh_ffn", "summary", ["jazz", "pop"], {})
    app.run()
    assert app.selectbox(key="sidebar.FFN_bundle").options == ["none", "fresh_ffn (workspace)"]
    app.selectbox(key="sidebar.FFN_bundle").set_value(folder).run()
    assert "summary model, 2 classes (jazz, pop), not evaluated" in [c.value for c in app.sidebar.caption]
    metadata_file = Path(folder) / bundle_files.METADATA_FILE
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    metadata["metrics"] = {"parts": {"test": {"segment_metrics": {"accuracy": 0.9}}}}
    metadata_file.write_text(json.dumps(metadata), encoding="utf-8")
    os.utime(metadata_file, ns=(time.time_ns(), metadata_file.stat().st_mtime_ns + 1_000_000))  # coarse clocks
    app.run()
    assert "summary model, 2 classes (jazz, pop), test accuracy 90.0%" in [c.value for c in app.sidebar.caption]


def test_the_dataset_key_is_taken_once_per_run_and_again_at_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    track = tmp_path / "blues" / "blues.00000.wav"
    track.parent.mkdir()
    track.write_bytes(wav_bytes(tone(220.0, 1.0, 8000), 8000))
    taken: list[dataset_choice.DatasetSpec] = []
    key_of = common.dataset_key
    monkeypatch.setattr(common, "dataset_key", lambda spec: taken.append(spec) or key_of(spec))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.session_state[common.DATASET_SPEC_KEY] = dataset_choice.DatasetSpec(dataset_choice.FOLDER, str(tmp_path))
    app.session_state[common.DATASET_READY_KEY] = True
    app.run()  # the sidebar, the badges and "Loaded now" each look the dataset up
    assert not app.exception and len(taken) == 1
    first = app.session_state[common.DATASET_KEY_MEMO_KEY][2]
    os.utime(track, ns=(track.stat().st_atime_ns, track.stat().st_mtime_ns + 10**9))
    app.run()
    assert len(taken) == 2 and app.session_state[common.DATASET_KEY_MEMO_KEY][2] != first


def test_a_track_is_decoded_once_and_again_when_its_file_changes(tmp_path: Path) -> None:
    track = tmp_path / "song.wav"
    track.write_bytes(wav_bytes(tone(440.0, 1.0, 16000, amplitude=0.5), 16000))
    first = common.track_samples(track, 16000)
    assert first.shape == (16000,) and np.abs(first).max() == pytest.approx(0.5, abs=0.01)
    assert np.array_equal(common.track_samples(track, 16000), first)
    assert common.track_samples(track, 8000).shape == (8000,)  # another rate is another entry
    modified = track.stat().st_mtime_ns
    track.write_bytes(wav_bytes(tone(440.0, 2.0, 16000, amplitude=0.25), 16000))
    os.utime(track, ns=(time.time_ns(), modified + 1_000_000))  # a new modification time even on coarse clocks
    second = common.track_samples(track, 16000)
    assert second.shape == (32000,) and np.abs(second).max() == pytest.approx(0.25, abs=0.01)


@pytest.mark.slow
def test_the_track_figures_are_drawn_again_when_the_track_file_changes() -> None:
    app = click_load(start_app(dataset_choice.DatasetSpec(config=CHEAP), DATA_PAGE))

    def peak() -> float:
        """The highest sample the waveform draws."""
        return max(float(np.nanmax(plotly_array(trace["y"]))) for trace in charts(app)["waveform"]["data"])

    before = peak()
    track = next((paths.DEMO_DIR / "classical").glob("*.wav"))
    original = track.read_bytes()
    try:
        samples, rate = sf.read(track)
        sf.write(track, samples / 4, rate, subtype="FLOAT")  # 12 dB quieter
        os.utime(track, ns=(time.time_ns(), track.stat().st_mtime_ns + 10**9))
        app.run(timeout=TIMEOUT)
        assert not app.exception
        after = peak()
    finally:
        track.write_bytes(original)
        os.utime(track, ns=(time.time_ns(), time.time_ns()))
    assert after == pytest.approx(before / 4, rel=0.02)


@pytest.mark.slow
def test_app_shows_its_first_page_without_importing_tensorflow_sklearn_librosa_or_pandas(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({APP!r}, default_timeout=120).run()\n"
        "assert not app.exception, [item.value for item in app.exception]\n"
        "print(sorted(name for name in ('tensorflow', 'keras', 'shap', 'sklearn', 'librosa', 'pandas')\n"
        "             if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GENRELENS_DATA": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_errors_show_as_one_line_or_with_folded_details() -> None:
    def script() -> None:
        from genre_core.errors import InputError
        from pages import widgets

        widgets.user_error(InputError("songs/a.wav", "is silent"))
        with widgets.errors_shown():
            raise RuntimeError("boom\nsecond line")

    app = AppTest.from_function(script, default_timeout=60)
    app.run()
    assert not app.exception
    assert app.error[0].value == "songs/a.wav: is silent"
    assert "RuntimeError: boom" in app.error[1].value and "second line" not in app.error[1].value
    assert "Traceback" not in app.error[1].value
    assert not app.expander and "server's console" in app.caption[0].value  # served: no traceback in the browser
    streamlit_config.set_option("client.showErrorDetails", "full")
    try:
        app.run()
    finally:
        streamlit_config.set_option("client.showErrorDetails", "none")
    (details,) = app.expander
    assert details.label == "Technical details" and "Traceback" in details.code[0].value


def test_the_server_is_safe_by_default() -> None:
    """Loopback only, XSRF protection on, no error details in the browser, a real upload cap (issue 14)."""
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1" and config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none" and config["server"]["maxUploadSize"] <= 2048
    assert "--server.address 127.0.0.1" in (REPO_ROOT / "Makefile").read_text()
    assert config["runner"]["postScriptGC"] is False  # a forced full collection cost most of a page switch
    assert streamlit_config.get_option("client.showErrorDetails") == "none"  # what this checkout's server reads


# ------------------------------------------------------------------------------------------- data page ----
def test_bad_paths_give_a_one_line_error_naming_the_path(tmp_path: Path) -> None:
    app = start_app(page=DATA_PAGE)
    missing_folder = str(tmp_path / "no-such-folder")
    choose_source(app, dataset_choice.FOLDER, missing_folder)
    assert not app.exception
    assert [error.value for error in app.error] == [md(f"{missing_folder}: no such folder")]
    assert app.button(key="data.load").disabled

    missing_table = str(tmp_path / "features.csv")
    choose_source(app, dataset_choice.CSV, missing_table)
    app.button(key="data.load").click().run()
    assert not app.exception
    assert [error.value for error in app.error] == [md(f"{missing_table}: no such file or folder")]
    assert not app.session_state[common.DATASET_READY_KEY]

    (tmp_path / "songs" / "rock").mkdir(parents=True)  # a folder of songs given as a feature table: no extraction
    choose_source(app, dataset_choice.CSV, str(tmp_path / "songs"))
    app.button(key="data.load").click().run()
    assert not app.exception
    assert [error.value for error in app.error] == [md(
        f"{tmp_path / 'songs'}: is an audio folder, not a Kaggle feature CSV: choose that source kind, or another path")]
    assert not app.session_state[common.DATASET_READY_KEY]


def test_kaggle_csv_loads_and_shows_feature_distributions_per_genre(gtzan_csv: Path) -> None:
    app = choose_source(start_app(page=DATA_PAGE), dataset_choice.CSV, str(gtzan_csv))
    click_load(app)
    assert app.success[0].value.startswith(r"Loaded Kaggle feature CSV: gtzan\_features\_30\_sec.csv: 10 classes, 1000 tracks")
    assert metric_values(app) == {"Classes": "10", "Tracks": "1000", "Segments (rows)": "1000", "Feature kinds": "1"}
    assert app.session_state[common.DATASET_SPEC_KEY] == dataset_choice.DatasetSpec(dataset_choice.CSV, str(gtzan_csv))
    summary = app.dataframe[0].value
    assert "tempo" in summary.index and summary.loc["tempo", "count"] == 1000
    assert len(plotly_charts(app)) == 2  # genres, one feature per genre
    files = json.loads(plotly_charts(app)[0].proto.spec)["data"][0]
    assert files["type"] == "pie" and len(files["labels"]) == 10 and set(plotly_array(files["values"])) == {100}
    app.radio(key="data.count_chart").set_value("bar").run()
    bars = json.loads(plotly_charts(app)[0].proto.spec)["data"][0]
    assert bars["type"] == "bar" and plotly_array(bars["y"]).sum() == 1000
    assert not app.get("audio")
    app.selectbox(key="data.feature").set_value("tempo").run()
    assert not app.exception
    genres = app.multiselect(key=f"data.genres.csv.{gtzan_csv}")  # a subset of the table, e.g. a binary task
    assert len(genres.options) == 10
    genres.set_value([]).run()
    assert app.button(key="data.load").disabled and "at least one genre" in app.warning[0].value
    genres.set_value(["metal", "blues"]).run()
    click_load(app)
    assert metric_values(app)["Classes"] == "2" and metric_values(app)["Tracks"] == "200"
    assert app.session_state[common.DATASET_SPEC_KEY] == dataset_choice.DatasetSpec(dataset_choice.CSV, str(gtzan_csv),
                                                                            ("blues", "metal"))


def test_a_changed_feature_file_is_reloaded_not_served_stale(gtzan_csv: Path, tmp_path: Path) -> None:
    table = pd.read_csv(gtzan_csv)
    small = tmp_path / "features_30_sec.csv"
    table.iloc[:20].to_csv(small, index=False)
    app = click_load(choose_source(start_app(page=DATA_PAGE), dataset_choice.CSV, str(small)))
    assert metric_values(app)["Tracks"] == "20"
    table.iloc[:12].to_csv(small, index=False)
    os.utime(small, ns=(small.stat().st_atime_ns, small.stat().st_mtime_ns + 10**9))
    app.run()
    assert metric_values(app)["Tracks"] == "12"


@pytest.mark.slow
def test_data_page_opens_with_an_introduction_like_every_page() -> None:
    app = start_app(page=DATA_PAGE)
    assert app.title[0].value == "Data"
    intro = next((item.value for item in app.main.markdown if "SYNTHETIC" not in item.value), "")
    assert "**dataset**" in intro and "Load / extract" in intro and "synthetic" in intro


def test_demo_is_generated_extracted_and_explored_track_by_track() -> None:
    app = click_load(start_app(dataset_choice.DatasetSpec(config=CHEAP), DATA_PAGE))
    assert app.success[0].value == "Loaded Built-in demo (synthetic): 4 classes, 4 tracks, 20 segments."
    assert metric_values(app)["Segments (rows)"] == "20"
    assert any("SYNTHETIC" in item.value for item in app.markdown)
    assert len(app.get("audio")) == 1
    # genres, waveform, spectrum, STFT, mel filters, log-mel, MFCC, and the pretrained networks' input
    assert len(plotly_charts(app)) == 8
    assert any("what the pretrained networks hear" in item.value for item in app.markdown)
    assert len(app.caption) >= 6
    track = app.selectbox(key="data.track")
    assert track.options == ["classical.00000 (classical)", "disco.00000 (disco)", "metal.00000 (metal)",
                             "rock.00000 (rock)"]
    track.set_value("metal.00000").run()
    app.selectbox(key="data.window.metal.00000").set_value(3).run()
    assert not app.exception
    assert "window 3: 18.0–24.0 s" == app.selectbox(key="data.window.metal.00000").format_func(3)


@pytest.mark.slow
def test_gtzan_folder_loads_the_chosen_genres(gtzan_mini: Path) -> None:
    app = choose_source(start_app(dataset_choice.DatasetSpec(config=CHEAP), DATA_PAGE), dataset_choice.FOLDER, str(gtzan_mini))
    genres = app.multiselect(key=f"data.genres.folder.{gtzan_mini}")
    assert len(genres.options) == 10
    genres.set_value(["blues", "rock"]).run()
    click_load(app)
    assert app.success[0].value.endswith("2 classes, 14 tracks, 70 segments.")
    spec = app.session_state[common.DATASET_SPEC_KEY]
    assert spec.genres == ("blues", "rock") and spec.config == CHEAP
    assert len(app.get("audio")) == 1 and len(plotly_charts(app)) == 8


@pytest.mark.slow
def test_uploaded_zip_is_unpacked_into_the_session_folder_and_loaded() -> None:
    archive = zip_bytes({"mini/blues/blues.00000.wav": wav_bytes(tone(220.0, 7.0, 8000), 8000, subtype="PCM_16"),
                         "mini/rock/rock.00000.wav": wav_bytes(tone(880.0, 7.0, 8000), 8000, subtype="PCM_16"),
                         "__MACOSX/mini/._x": b"resource fork"})
    app = choose_source(start_app(dataset_choice.DatasetSpec(config=CHEAP), DATA_PAGE), dataset_choice.UPLOAD)
    app.file_uploader(key="data.upload").set_value(("mini.zip", archive, "application/zip")).run()
    assert not app.exception and not app.error
    unpacked = paths.DATA_DIR / "uploads" / app.session_state[common.UPLOAD_FOLDER_KEY] / uploads.UPLOADED_DATASET
    root = unpacked / "mini"
    assert (root / "blues" / "blues.00000.wav").is_file() and not (unpacked / "__MACOSX").exists()
    assert app.multiselect(key=f"data.genres.upload.{root}").value == ["blues", "rock"]
    click_load(app)
    assert app.success[0].value == "Loaded Uploaded zip: mini: 2 classes, 2 tracks, 2 segments."
    assert len(app.get("audio")) == 1


def test_an_upload_removes_ended_sessions_folders_and_a_running_session_keeps_its_own() -> None:
    archive = zip_bytes({"blues/blues.00000.wav": wav_bytes(tone(220.0, 1.0, 8000), 8000)})
    upload_root = paths.DATA_DIR / "uploads"
    day_ago = time.time() - uploads.UPLOAD_MAX_IDLE_S - 60
    for name, modified in (("ended", day_ago), ("running", time.time())):
        (upload_root / name / "rock").mkdir(parents=True)
        os.utime(upload_root / name, (modified, modified))

    app = choose_source(start_app(page=DATA_PAGE), dataset_choice.UPLOAD)
    app.file_uploader(key="data.upload").set_value(("tones.zip", archive, "application/zip")).run()
    assert not app.exception and not app.error
    mine = upload_root / app.session_state[common.UPLOAD_FOLDER_KEY]
    assert not (upload_root / "ended").exists() and (upload_root / "running" / "rock").is_dir()
    assert (mine / uploads.UPLOADED_DATASET / "blues" / "blues.00000.wav").is_file()

    os.utime(mine, (day_ago, day_ago))  # a day without a script run, then the user comes back
    app.run()
    assert mine.stat().st_mtime > time.time() - 60
    other = choose_source(start_app(page=DATA_PAGE), dataset_choice.UPLOAD)
    other.file_uploader(key="data.upload").set_value(("tones.zip", archive, "application/zip")).run()
    assert mine.is_dir() and (upload_root / other.session_state[common.UPLOAD_FOLDER_KEY]).is_dir()


# ---------------------------------------------------------------------------------------- common layer ----
def test_a_typed_path_outside_the_allowed_folders_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ALLOWED_ROOTS_ENV, str(tmp_path / "class"))
    app = start_app(page=DATA_PAGE)
    choose_source(app, dataset_choice.FOLDER, "/etc")
    assert not app.exception
    (message,) = [error.value for error in app.error]
    assert message.startswith("/etc: this dataset path is outside the folders the server may read (")
    assert message.endswith(r"the teacher can add folders with GENRELENS\_ALLOWED\_ROOTS")  # escaped for Markdown
    (tmp_path / "class").mkdir()
    choose_source(app, dataset_choice.FOLDER, str(tmp_path / "class" / ".." / ".." / ".."))  # no way out with ..
    assert "is outside the folders" in app.error[0].value
    choose_source(app, dataset_choice.FOLDER, str(tmp_path / "class"))
    assert [error.value for error in app.error] == [md(f"{tmp_path / 'class'}: no audio files (.wav, .au, .flac, "
                                                              ".ogg, .mp3) found in genre subfolders <folder>/<genre>/<file>")]
