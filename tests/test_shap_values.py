"""SHAP values of tiny functional summary-feature models and feature families (the plots: test_shap_figures)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from helpers import synthetic_shap_result

from genre_core.errors import InputError
from genre_core.explain import shap_values as sv
from genre_core.features import SUMMARY_NAMES

N_FEATURES = len(SUMMARY_NAMES)
CLASS_NAMES = ("blues", "metal", "pop")


def build_model(activation: str = "relu", seed: int = 0):
    """57 -> Dense 12 -> Dense 'logits' (3) -> softmax 'probabilities', the project's model contract."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(N_FEATURES,), name="features")
    hidden = keras.layers.Dense(12, activation=activation, name="dense1")(inputs)
    logits = keras.layers.Dense(len(CLASS_NAMES), name="logits")(hidden)
    probabilities = keras.layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="tiny_ffn")


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """40 standardised rows: 30 for the background, 10 to explain."""
    return np.random.default_rng(7).normal(size=(40, N_FEATURES)).astype(np.float32)


@pytest.fixture(scope="module")
def background(rows: np.ndarray) -> np.ndarray:
    return sv.background_sample(rows[:30], size=20, seed=0)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same tiny relu model in memory and saved then loaded with safe_mode=True."""
    import keras

    model = build_model()
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return {"in_memory": model, "loaded": keras.saving.load_model(path, safe_mode=True)}


@pytest.fixture(scope="module")
def deep_results(models: dict, background: np.ndarray, rows: np.ndarray) -> dict[str, sv.ShapResult]:
    """Logit SHAP values (auto method) of 6 rows for both model sources."""
    results = {}
    for source, model in models.items():
        explainer = sv.make_explainer(model, background, class_names=CLASS_NAMES)
        results[source] = sv.explain_rows(explainer, rows[30:36])
        results[source + "_explainer"] = explainer
    return results


@pytest.fixture
def synthetic_result() -> sv.ShapResult:
    return synthetic_shap_result(CLASS_NAMES)


# --- explaining ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("source", ["in_memory", "loaded"])
def test_auto_explains_logits_with_deep_explainer_exactly(deep_results: dict, models: dict, rows, source) -> None:
    result = deep_results[source]
    explainer = deep_results[source + "_explainer"]
    assert explainer.method == "deep" and explainer.fallback_notes == ()
    assert result.values.shape == (6, N_FEATURES, len(CLASS_NAMES))
    assert result.values.dtype == np.float64
    assert result.base_values.shape == (len(CLASS_NAMES),)
    assert result.feature_names == SUMMARY_NAMES and result.class_names == CLASS_NAMES
    expected_logits = np.log(models[source].predict_on_batch(rows[30:36]))  # log-softmax = logits + constant
    centred = result.outputs - result.outputs.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(centred, expected_logits - expected_logits.mean(axis=1, keepdims=True), atol=1e-4)
    # DeepExplainer (DeepLIFT rescale rule on a ReLU net) is exact-additive up to float32 round-off
    scale = max(1.0, float(np.abs(result.outputs).max()))
    assert sv.additivity_error(result) <= 1e-3 * scale
    assert np.abs(result.values).max() > 1e-3  # not trivially zero


@pytest.mark.slow
def test_loaded_model_gives_the_same_values_as_the_model_in_memory(deep_results: dict) -> None:
    in_memory, loaded = deep_results["in_memory"], deep_results["loaded"]
    np.testing.assert_allclose(loaded.values, in_memory.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.base_values, in_memory.base_values, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_explain_rows_reports_progress_per_chunk_and_chunks_do_not_change_values(deep_results: dict, rows) -> None:
    explainer = deep_results["in_memory_explainer"]
    calls: list[tuple[int, int]] = []
    chunked = sv.explain_rows(
        explainer, rows[30:36], chunk_rows=4, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(0, 6), (4, 6), (6, 6)]
    np.testing.assert_allclose(chunked.values, deep_results["in_memory"].values, atol=1e-6)


@pytest.mark.slow
def test_gradient_explainer_is_additive_only_in_expectation(models: dict, deep_results: dict, background, rows) -> None:
    # Expected gradients average gradient x (row - reference) over random references and path points, so
    # the sum of a row's values matches output - base only up to Monte-Carlo noise that shrinks like
    # 1/sqrt(nsamples): measured on this model, the largest error is ~8% of the output range at 200 samples
    # and ~1.5% at 4000. DeepExplainer and KernelExplainer have no such error.
    model = models["in_memory"]
    errors = {}
    for nsamples in (100, 6400):
        explainer = sv.make_explainer(model, background, method="gradient", nsamples=nsamples, seed=1)
        result = sv.explain_rows(explainer, rows[30:33])
        assert result.values.shape == (3, N_FEATURES, len(CLASS_NAMES))
        # both explainers' base is the mean logit over the same background
        np.testing.assert_allclose(result.base_values, deep_results["in_memory"].base_values, atol=1e-5)
        errors[nsamples] = np.abs(result.values.sum(axis=1) + result.base_values - result.outputs)
    spread = float(np.ptp(result.outputs))
    assert errors[6400].max() <= 0.05 * spread
    assert errors[6400].mean() < 0.5 * errors[100].mean()  # 64x the samples: ~8x less error expected


@pytest.mark.slow
def test_probability_output_is_explained_additively(models: dict, background, rows) -> None:
    explainer = sv.make_explainer(models["in_memory"], background, method="deep", output="probabilities")
    result = sv.explain_rows(explainer, rows[30:33])
    assert result.unit == "probability"
    np.testing.assert_allclose(result.outputs.sum(axis=1), 1.0, atol=1e-5)
    assert sv.additivity_error(result) <= 1e-4


@pytest.mark.slow
def test_auto_falls_back_to_gradient_when_deep_explainer_cannot_handle_the_model(background, rows) -> None:
    import tensorflow as tf

    explainer = sv.make_explainer(build_model("gelu"), background, nsamples=50)  # DeepExplainer has no Erf rule
    assert explainer.method == "gradient"
    assert len(explainer.fallback_notes) == 1 and explainer.fallback_notes[0].startswith("deep: ")
    assert sv.explain_rows(explainer, rows[30:32]).values.shape == (2, N_FEATURES, len(CLASS_NAMES))
    # the failed DeepExplainer left ordinary gradients in this process working
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.sin(x) * x)
    expected = np.sin([1.0, 2.0]) + np.cos([1.0, 2.0]) * [1.0, 2.0]
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)


@pytest.mark.slow
def test_auto_falls_back_to_kernel_explainer_which_is_exactly_additive(background, rows, monkeypatch) -> None:
    import shap

    def unusable(*args, **kwargs):
        raise RuntimeError("no gradients here")

    monkeypatch.setattr(shap, "GradientExplainer", unusable)
    explainer = sv.make_explainer(build_model("gelu"), background, nsamples=150)
    assert explainer.method == "kernel"
    assert [note.split(":")[0] for note in explainer.fallback_notes] == ["deep", "gradient"]
    assert "no gradients here" in explainer.fallback_notes[1]
    result = sv.explain_rows(explainer, rows[30:32])
    assert result.values.shape == (2, N_FEATURES, len(CLASS_NAMES))
    assert sv.additivity_error(result) <= 1e-5  # Kernel SHAP solves with the sum as a constraint
    again = sv.explain_rows(explainer, rows[30:32])
    np.testing.assert_array_equal(again.values, result.values)  # seeded coalition sampling


@pytest.mark.parametrize("output", ["logits", "probabilities"])
def test_sigmoid_model_is_explained_as_two_classes_exactly(background, rows, output: str, tmp_path) -> None:
    """A blues-vs-metal model with one sigmoid unit: class 1 explains z (or p), class 0 its mirror -z (1 - p)."""
    import keras

    from genre_core.models import build_model as build_preset

    keras.utils.set_random_seed(0)
    model = build_preset("ffn_mfcc", (N_FEATURES,), 2, output="sigmoid", hidden=[12], dropout=0.0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    results = [sv.explain_rows(sv.make_explainer(m, background, class_names=["blues", "metal"], output=output),
                               rows[30:34]) for m in (model, loaded)]
    for result in results:
        assert result.method == "deep" and result.values.shape == (4, N_FEATURES, 2)
        assert sv.additivity_error(result) < 1e-4
        np.testing.assert_allclose(result.values[..., 0], -result.values[..., 1], atol=1e-6)
        p = np.asarray(model(rows[30:34]))[:, 0]
        expected = np.log(p / (1 - p)) if output == "logits" else p
        np.testing.assert_allclose(result.outputs[:, 1], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[0].values, results[1].values, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_bad_models_and_rows_raise_input_errors(models: dict, background, rows) -> None:
    import keras

    model = models["in_memory"]
    with pytest.raises(InputError, match="rows to explain"):
        sv.explain_rows(sv.make_explainer(model, background, method="deep"), rows[:, :10])
    with pytest.raises(InputError, match="background rows: must hold finite"):
        sv.make_explainer(model, np.full((4, N_FEATURES), np.nan))
    with pytest.raises(InputError, match="SHAP method"):
        sv.make_explainer(model, background, method="lime")
    with pytest.raises(InputError, match="class names"):
        sv.make_explainer(model, background, class_names=["a", "b"])
    inputs = keras.Input(shape=(N_FEATURES,))
    no_logits = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    with pytest.raises(InputError, match="no layer named 'logits'"):
        sv.make_explainer(no_logits, background)


def test_background_sample_draws_distinct_training_rows_reproducibly() -> None:
    x_train = np.arange(300 * 4, dtype=np.float32).reshape(300, 4)
    sample = sv.background_sample(x_train, size=50, seed=5)
    assert sample.shape == (50, 4)
    picked = sample[:, 0] // 4
    assert np.all(np.diff(picked) > 0)  # distinct rows, in row order
    np.testing.assert_array_equal(sample, x_train[picked.astype(int)])
    np.testing.assert_array_equal(sample, sv.background_sample(x_train, size=50, seed=5))
    assert not np.array_equal(sample, sv.background_sample(x_train, size=50, seed=6))
    np.testing.assert_array_equal(sv.background_sample(x_train[:30], size=50), x_train[:30])
    with pytest.raises(InputError):
        sv.background_sample(x_train[0])


# --- feature families ------------------------------------------------------------------------------


def test_every_summary_column_has_one_family() -> None:
    families = [sv.feature_family(name) for name in SUMMARY_NAMES]
    counts = {family: families.count(family) for family in sv.FEATURE_FAMILIES}
    assert counts == {
        "MFCC means": 20,
        "MFCC variances": 20,
        "chroma": 2,
        "spectral shape": 8,
        "rhythm": 3,
        "energy": 4,
    }
    assert sv.feature_family("tempo") == "rhythm" and sv.feature_family("perceptr_var") == "rhythm"
    assert sv.feature_family("mfcc13_var") == "MFCC variances"
    with pytest.raises(InputError, match="no feature family"):
        sv.feature_family("loudness")


def test_grouped_values_sum_within_families_and_keep_the_total(synthetic_result: sv.ShapResult) -> None:
    grouped = sv.grouped_values(synthetic_result)
    assert grouped.shape == (8, len(sv.FEATURE_FAMILIES), 3)
    np.testing.assert_allclose(grouped.sum(axis=1), synthetic_result.values.sum(axis=1))
    chroma = [SUMMARY_NAMES.index("chroma_stft_mean"), SUMMARY_NAMES.index("chroma_stft_var")]
    family = list(sv.FEATURE_FAMILIES).index("chroma")
    np.testing.assert_allclose(grouped[:, family], synthetic_result.values[:, chroma].sum(axis=1))


@pytest.mark.slow
def test_a_ten_class_deep_explainer_reports_no_retracing() -> None:
    """shap compiles one tf.function per class from the same code; TensorFlow called those first traces
    "retracing". Built and used twice (1 row, then 3), the explainer prints nothing on stderr."""
    code = (
        "import numpy as np, keras\n"
        "from genre_core.explain import shap_values as sv\n"
        "inputs = keras.Input((57,))\n"
        "logits = keras.layers.Dense(10, name='logits')(keras.layers.Dense(8, activation='relu')(inputs))\n"
        "model = keras.Model(inputs, keras.layers.Activation('softmax', name='probabilities')(logits))\n"
        "rng = np.random.default_rng(0)\n"
        "explainer = sv.make_explainer(model, rng.normal(size=(20, 57)).astype('float32'),"
        " class_names=list('abcdefghij'))\n"
        "for n in (1, 3):\n"
        "    sv.explain_rows(explainer, rng.normal(size=(n, 57)).astype('float32'))\n"
        "print(explainer.method)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300, check=False, env=environment)
    assert result.stdout.strip() == "deep", result.stderr
    assert "retracing" not in result.stderr and result.stderr == ""
