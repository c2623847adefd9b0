"""Convert the TF1 checkpoints of the ``musicnn`` 0.1.0 wheel into Keras 3 ``.keras`` files.

The wheel (ISC licence) is fetched with pip (``make musicnn-weights`` runs
``pip download --no-deps musicnn==0.1.0``); its checkpoints are read with TensorFlow's checkpoint reader, whose
prefix is the model folder itself (files ``.index`` and ``.data-00000-of-00001``). Nothing of the original code
runs. Weight layout changes, all exact:
  - 2-D kernels are transposed from (frames, bands, in, out) to (bands, frames, in, out);
  - mid-end kernels (7, channels, 1, 64) become Conv1D kernels (7, channels, 64);
  - the original flattens its (753, 2) max/mean pool interleaved (max₀, mean₀, max₁, …); the port concatenates
    (max₀…max₇₅₂, mean₀…mean₇₅₂), so the batch norm and dense weights on it are permuted to match.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from genre_core.atomic import atomic_path
from genre_core.errors import InputError
from genre_core.musicnn import TRUNKS, Trunk
from genre_core.musicnn.architecture import TEMPORAL_BRANCHES, TIMBRAL_BRANCHES, VGG_POOLS, build_tagger

LICENCE_FILE = "musicnn-0.1.0.dist-info/LICENSE.md"  #: its ISC notice, copied beside the converted files

_BN = ("gamma", "beta", "moving_mean", "moving_variance")  #: Keras BatchNormalization weight order

Reader = Callable[[str], np.ndarray]


def _musicnn_names() -> dict[str, tuple[str, str]]:
    """Keras layer -> (TF1 scope, kind) for musicnn; scopes are numbered in the order the original creates them."""
    conv_layers = [f"{name}_conv" for name in (*TIMBRAL_BRANCHES, *TEMPORAL_BRANCHES)] + [
        f"midend{index}_conv" for index in (1, 2, 3)
    ]
    bn_layers = ["input_bn", *(f"{name}_bn" for name in (*TIMBRAL_BRANCHES, *TEMPORAL_BRANCHES)),
                 *(f"midend{index}_bn" for index in (1, 2, 3)), "pool_bn", "penultimate"]
    names = {layer: (_scope("conv2d", index), "conv") for index, layer in enumerate(conv_layers)}
    names.update({layer: (_scope("batch_normalization", index), "bn") for index, layer in enumerate(bn_layers)})
    names.update({"penultimate_dense": ("dense", "dense"), "tag_logits": ("dense_1", "dense")})
    return names


def _vgg_names() -> dict[str, tuple[str, str]]:
    """Keras layer -> (TF1 scope, kind) for VGG."""
    names = {f"block{index}_conv": (f"{index}CNN", "conv") for index in range(1, len(VGG_POOLS) + 1)}
    bn_layers = ["input_bn", *(f"block{index}_bn" for index in range(1, len(VGG_POOLS) + 1))]
    names.update({layer: (_scope("batch_normalization", index), "bn") for index, layer in enumerate(bn_layers)})
    names["tag_logits"] = ("dense", "dense")
    return names


def _scope(base: str, index: int) -> str:
    return base if index == 0 else f"{base}_{index}"


def _pool_permutation(width: int) -> np.ndarray:
    """Index into the original interleaved (max, mean) vector for each position of the port's [max…, mean…]."""
    half = width // 2
    return np.concatenate([np.arange(half) * 2, np.arange(half) * 2 + 1])


def load_checkpoint_weights(model: keras.Model, trunk: Trunk, read: Reader) -> None:
    """Set every weight of ``model`` (built by `build_tagger` for ``trunk``) from the TF1 variables that ``read``
    returns by name. Raises `InputError` when a variable is missing or has another shape."""
    names = _musicnn_names() if trunk.architecture == "musicnn" else _vgg_names()
    for layer_name, (scope, kind) in names.items():
        layer = model.get_layer(layer_name)
        if kind == "bn":
            values = [read(f"{scope}/{part}") for part in _BN]
            if layer_name == "pool_bn":
                values = [value[_pool_permutation(len(value))] for value in values]
        else:
            kernel, bias = read(f"{scope}/kernel"), read(f"{scope}/bias")
            if kind == "conv" and layer_name.startswith("midend"):
                kernel = kernel[:, :, 0, :]
            elif kind == "conv":
                kernel = np.transpose(kernel, (1, 0, 2, 3))
            elif layer_name == "penultimate_dense":
                kernel = kernel[_pool_permutation(len(kernel))]
            values = [kernel, bias]
        expected = [tuple(weight.shape) for weight in layer.weights]
        if [tuple(value.shape) for value in values] != expected:
            raise InputError(f"checkpoint {trunk.checkpoint}", f"{scope} does not fit layer {layer_name} {expected}")
        layer.set_weights(values)


def checkpoint_reader(folder: Path) -> Reader:
    """A name -> array reader of the TF1 checkpoint whose prefix is ``folder`` itself."""
    from tensorflow.python.training import py_checkpoint_reader

    if not (folder / ".index").is_file():
        raise InputError(folder, "holds no TF1 checkpoint ('.index' is missing)")
    reader = py_checkpoint_reader.NewCheckpointReader(f"{folder}/")

    def read(name: str) -> np.ndarray:
        if not reader.has_tensor(name):
            raise InputError(f"checkpoint {folder.name}", f"has no variable {name}")
        return np.asarray(reader.get_tensor(name), dtype=np.float32)

    return read


def convert_trunk(trunk: Trunk | str, checkpoint_folder: Path) -> keras.Model:
    """The Keras tagging network of ``trunk`` with the weights of the checkpoint in ``checkpoint_folder``."""
    spec = TRUNKS[trunk] if isinstance(trunk, str) else trunk
    model = build_tagger(spec)
    load_checkpoint_weights(model, spec, checkpoint_reader(checkpoint_folder))
    return model


def convert_wheel(wheel: Path, out_dir: Path, trunks: tuple[str, ...] = tuple(TRUNKS)) -> list[Path]:
    """Convert the ``trunks`` of the musicnn wheel at ``wheel`` into ``out_dir/<trunk>.keras`` (atomic writes),
    with the wheel's ISC notice as ``out_dir/LICENSE-musicnn.md``. Returns the files written."""
    if not zipfile.is_zipfile(wheel):
        raise InputError(wheel, "is not a wheel (zip) file")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as temporary, zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith("musicnn/") or name == LICENCE_FILE]
        if LICENCE_FILE not in members:
            raise InputError(wheel, f"has no {LICENCE_FILE}: not the musicnn 0.1.0 wheel")
        archive.extractall(temporary, members)
        root = Path(temporary)
        for name in trunks:
            trunk = TRUNKS[name]
            model = convert_trunk(trunk, root / "musicnn" / trunk.checkpoint)
            target = out_dir / trunk.file_name
            with atomic_path(target, suffix=".keras") as staging:
                model.save(staging)
            written.append(target)
        licence = out_dir / "LICENSE-musicnn.md"
        with atomic_path(licence) as staging:
            staging.write_bytes((root / LICENCE_FILE).read_bytes())
        written.append(licence)
    return written
