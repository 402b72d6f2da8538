"""Images: the vision builders, local MNIST files, the no-network message, training and plots."""

import gzip
import json
import struct

import keras
import numpy as np
import pytest

import zoo
from zoo.common import learning_rate_schedule
from recipes.catalog import RECIPES
from recipes.data import images, loaders
from recipes.features import encoding, parts, preprocess
from recipes.data.dataset import DataOptions
from recipes.errors import DataUnavailable, UserError
from recipes.sources.arrays import to_dataset
from recipes.training import devices
from recipes.workflow.prepare import prepare
from recipes.workflow.run import RunOptions, run
from tests.conftest import SHARED_MNIST

IMAGE_BUILDERS = {"mnist_cnn": (28, 28, 1), "keras_io_convnet": (28, 28, 1),
                  "mnist_mlp": (28, 28, 1), "softmax_regression": (28, 28, 1)}


def tiny_mnist(train_size=12, test_size=5, side=28):
    """Random uint8 images and digit labels under Keras' mnist.npz keys."""
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (train_size, side, side), dtype=np.uint8),
            "y_train": rng.integers(0, 10, train_size, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (test_size, side, side), dtype=np.uint8),
            "y_test": rng.integers(0, 10, test_size, dtype=np.uint8)}


def write_idx(path, array):
    """MNIST's IDX format: bytes 0, 0, type 0x08 (uint8), rank, big-endian sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.tobytes())


def write_idx_files(folder, arrays):
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in images.IDX_FILES.items():
        write_idx(folder / name, arrays[key])


def assert_same_data(dataset, arrays):
    np.testing.assert_array_equal(dataset.features, arrays["x_train"])
    np.testing.assert_array_equal(dataset.target, arrays["y_train"])
    np.testing.assert_array_equal(dataset.test[0], arrays["x_test"])
    np.testing.assert_array_equal(dataset.test[1], arrays["y_test"])


# --- builders -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(IMAGE_BUILDERS))
def test_vision_builders_have_the_same_parameters_in_both_apis(name):
    sequential = zoo.build(name, IMAGE_BUILDERS[name], 10, api="sequential")
    functional = zoo.build(name, IMAGE_BUILDERS[name], 10, api="functional")
    assert isinstance(sequential, keras.Sequential) and not isinstance(functional, keras.Sequential)
    assert sequential.count_params() == functional.count_params() > 0
    assert functional.output.shape == (None, 10)


def test_keras_io_convnet_has_the_published_parameter_count():
    assert zoo.build("keras_io_convnet", (28, 28, 1), 10).count_params() == 34_826


def test_mnist_cnn_arguments_shape_the_network():
    narrow = zoo.build("mnist_cnn", (28, 28, 1), 10, filters=16, dense_units=64, batch_norm=False)
    convolutions = [layer for layer in narrow.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size) for c in convolutions] == [(16, (5, 5)), (32, (3, 3))]
    assert narrow.get_layer("hidden_0").units == 64
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in narrow.layers)
    deep = zoo.build("mnist_cnn", (28, 28, 1), 10, block_convs=(1, 2))
    convolutions = [layer for layer in deep.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size) for c in convolutions] == [(32, (5, 5)), (64, (3, 3)),
                                                                  (64, (3, 3))]
    assert deep.get_layer("block2_pool").output.shape == (None, 4, 4, 64)  # 12 -> 10 -> 8 -> 4
    small = zoo.build("mnist_cnn", (8, 8, 1), 10, padding="same", decay_steps=100)
    assert small.optimizer.get_config()["learning_rate"]["class_name"] == "CosineDecay"


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_test_shifts_average_five_shifted_views_at_inference_only(api, tmp_path):
    """mnist_cnn(test_shifts=1): inference answers the mean of the network's answers to the
    image and its copies moved one pixel up, down, left and right; training sees the image."""
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28, 1), dtype=np.float32)
    shifted = zoo.build("mnist_cnn", (28, 28, 1), 10, test_shifts=1, dropout=0.0, api=api)
    plain = zoo.build("mnist_cnn", (28, 28, 1), 10, dropout=0.0, api=api)
    plain.set_weights(shifted.get_weights())  # the copies layers have no weights
    views = [images, np.pad(images[:, 1:], [(0, 0), (0, 1), (0, 0), (0, 0)]),
             np.pad(images[:, :-1], [(0, 0), (1, 0), (0, 0), (0, 0)]),
             np.pad(images[:, :, 1:], [(0, 0), (0, 0), (0, 1), (0, 0)]),
             np.pad(images[:, :, :-1], [(0, 0), (0, 0), (1, 0), (0, 0)])]
    expected = np.mean([plain.predict(view, verbose=0) for view in views], axis=0)
    np.testing.assert_allclose(shifted.predict(images, verbose=0), expected, atol=1e-6)
    assert not np.allclose(expected, plain.predict(images, verbose=0), atol=1e-4)
    np.testing.assert_allclose(shifted(images, training=True).numpy(),
                               plain(images, training=True).numpy(), atol=1e-6)
    # trains a step, then round-trips in safe mode with its smoothed loss and warmed schedule
    smooth = zoo.build("mnist_cnn", (28, 28, 1), 10, test_shifts=1, label_smoothing=0.1,
                       decay_steps=10, warmup=0.2, dropout=0.0, api=api)
    smooth.fit(images, np.eye(10, dtype="float32")[[1, 2, 3]], epochs=1, verbose=0)
    smooth.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               smooth.predict(images, verbose=0), atol=1e-6)
    assert loaded.loss.get_config()["label_smoothing"] == 0.1


def test_warmup_rises_from_a_25th_then_decays_over_the_rest():
    schedule = learning_rate_schedule(1e-2, 100, warmup=0.1)
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    np.testing.assert_allclose(rates[:3], [4e-4, 5.2e-3, 1e-2], rtol=1e-5)
    assert rates[2] > rates[3] > rates[4] == pytest.approx(1e-4)


def test_annealed_recipes_decay_the_learning_rate_over_every_step_of_the_run():
    # mnist-5k-cnn trains on 3,250 images in batches of 64: 51 steps an epoch
    for epochs in (3, 40):
        plan, _ = prepare("mnist-5k-cnn", RunOptions(epochs=epochs, quiet=True))
        assert plan.hyperparameters["decay_steps"] == epochs * 51
    pinned, _ = prepare("mnist-5k-cnn", RunOptions(epochs=3, quiet=True,
                                                    hyperparameters={"decay_steps": 7}))
    assert pinned.hyperparameters["decay_steps"] == 7  # --set wins


@pytest.mark.parametrize("shape, kwargs, message", [
    ((8, 8, 1), {}, r"8x8 images are too small for its conv blocks with padding='valid'"),
    ((4,), {}, r"mnist_cnn takes images \(height, width, channels\), got input shape \(4,\)"),
    ((28, 28, 1), {"block_convs": (1, 6)}, r"28x28 images are too small for its conv blocks"),
    ((28, 28, 1), {"block_convs": (1,)}, r"block_convs takes one count per conv block \(two\)"),
    ((28, 28, 1), {"block_convs": (0, 1)}, r"convs in a block must be"),
    ((28, 28, 1), {"padding": "full"}, r"unknown padding 'full'; valid: valid, same"),
    ((28, 28, 1), {"decay_steps": -1}, r"decay_steps must be >= 0"),
    ((28, 28, 1), {"test_shifts": 28}, r"test_shifts must be in \[0, 28\) pixels"),
    ((28, 28, 1), {"label_smoothing": 1.0}, r"label_smoothing must be in \[0, 1\)"),
    ((28, 28, 1), {"decay_steps": 10, "warmup": -0.1}, r"warmup must be in \[0, 1\)"),
])
def test_mnist_cnn_rejects_what_it_cannot_build(shape, kwargs, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.build("mnist_cnn", shape, 10, **kwargs)


# --- data sets ------------------------------------------------------------------------------


def test_mnist_is_read_from_a_local_npz(tmp_path):
    arrays = tiny_mnist()
    np.savez_compressed(tmp_path / "mnist.npz", **arrays)
    dataset = loaders.load("mnist", DataOptions(data_dir=str(tmp_path)))
    assert_same_data(dataset, arrays)


def test_mnist_is_read_from_the_four_idx_files(tmp_path):
    arrays = tiny_mnist()
    write_idx_files(tmp_path, arrays)
    assert_same_data(loaders.load("mnist", DataOptions(data_dir=str(tmp_path))), arrays)


def test_fashion_mnist_reads_idx_files_in_its_own_folder_and_names_classes(tmp_path):
    arrays = tiny_mnist()
    write_idx_files(tmp_path / "fashion-mnist", arrays)
    dataset = loaders.load("fashion-mnist", DataOptions(data_dir=str(tmp_path)))
    assert list(dataset.target[:3]) == [images.FASHION_CLASSES[i] for i in arrays["y_train"][:3]]
    np.testing.assert_array_equal(dataset.test[0], arrays["x_test"])


def test_incomplete_or_broken_local_files_are_user_errors(tmp_path):
    arrays = tiny_mnist()
    write_idx(tmp_path / images.IDX_FILES["x_train"], arrays["x_train"])
    with pytest.raises(UserError, match=r"has train-images-idx3-ubyte.gz but not "
                                        r"train-labels-idx1-ubyte.gz, .*needs all four"):
        loaders.load("mnist", DataOptions(data_dir=str(tmp_path)))
    np.savez(tmp_path / "mnist.npz", x_train=arrays["x_train"])
    with pytest.raises(UserError, match=r"mnist.npz has no y_train, x_test, y_test"):
        loaders.load("mnist", DataOptions(data_dir=str(tmp_path)))


def test_without_file_or_network_mnist_is_unavailable_and_says_what_to_do(tmp_path, monkeypatch):
    def no_network(*_args, **_kwargs):
        raise Exception("URL fetch failure on https://example/mnist.npz: None -- "
                        "[Errno -2] Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DataUnavailable) as error:
        loaders.load("mnist", DataOptions(data_dir=str(tmp_path)))
    message = str(error.value)
    assert message.startswith("mnist: no local copy and the download failed (URL fetch failure")
    assert f"put mnist.npz (keys x_train, y_train, x_test, y_test) or the four MNIST IDX .gz " \
           f"files in {tmp_path}" in message
    assert "mnist-5k (recipe mnist-5k-cnn), digits (recipe digits-cnn)" in message
    assert "\n" not in message


def test_local_files_are_looked_for_in_the_data_folder_where_the_command_runs(tmp_path,
                                                                             monkeypatch):
    # the project's data/ (its README says what goes there), not the recipes.data package
    monkeypatch.chdir(tmp_path)
    assert images.data_dir(DataOptions()) == tmp_path / "data"
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "mnist.npz", **{
        key: np.zeros((2, 28, 28) if key.startswith("x") else 2, "uint8") for key in images.IDX_FILES})
    assert loaders.load("mnist", DataOptions()).name == "mnist"


def test_the_cli_exits_2_with_that_message_and_writes_nothing(cli, tmp_path):
    # An empty Keras cache and a proxy on a closed port: the download fails at once, network or not.
    closed = "http://127.0.0.1:9"
    result = cli("run", "mnist-mlp", "--data-dir", tmp_path / "empty", "--out", tmp_path / "out",
                 env={"KERAS_HOME": str(tmp_path / "keras"), "https_proxy": closed,
                      "HTTPS_PROXY": closed, "no_proxy": "", "NO_PROXY": ""})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: mnist: no local copy and the download failed")
    assert "mnist-5k (recipe mnist-5k-cnn)" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_offline_image_sets_are_uint8_images_with_labels():
    for name, shape, size in (("digits", (8, 8), 1797), ("mnist-5k", (28, 28), 5000)):
        dataset = loaders.load(name)
        assert dataset.features.shape == (size, *shape) and dataset.features.dtype == np.uint8
        assert dataset.features.max() == 255 and len(dataset.target) == size


@pytest.mark.skipif(not SHARED_MNIST.is_file(), reason=f"no local MNIST copy at {SHARED_MNIST}")
def test_the_shared_mnist_copy_loads_with_its_own_test_split():
    dataset = loaders.load("mnist", DataOptions(data_dir=str(SHARED_MNIST.parent)))
    assert dataset.features.shape == (60_000, 28, 28) and dataset.features.dtype == np.uint8
    assert dataset.test[0].shape == (10_000, 28, 28)
    splits = preprocess.split(dataset, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (55_000, 5_000, 10_000)
    np.testing.assert_array_equal(splits.test.features, dataset.test[0])  # never shuffled in


# --- preprocessing and augmentation ---------------------------------------------------------


# The network was never trained: its optimizer has not made its slots, which loading reports.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_image_preprocessing_scales_pixels_adds_a_channel_and_round_trips(tmp_path):
    dataset = loaders.load("digits")
    preprocessing = preprocess.fit(dataset, parts.Part(dataset.features, dataset.target))
    assert preprocessing.spec == {"kind": "image", "raw_shape": [8, 8], "shape": [8, 8, 1]}
    x = preprocessing.encode(dataset.features[:5])
    assert x.shape == (5, 8, 8, 1) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(x[..., 0], dataset.features[:5] / 255, rtol=1e-6)
    assert preprocessing.input_shape == (8, 8, 1) and preprocessing.num_outputs == 10
    labels = preprocessing.encode_target(dataset.target[:5])
    np.testing.assert_array_equal(zoo.task("multiclass").decode(labels, preprocessing.classes),
                                  dataset.target[:5].astype(str))
    # The saved raw-input model takes the uint8 images and answers as in memory.
    network = zoo.build("softmax_regression", preprocessing.input_shape, 10)
    model = encoding.raw_model(preprocessing.spec, dataset.task, network)
    feed = preprocessing.feed(dataset.features[:5])
    assert feed[encoding.IMAGE_INPUT].dtype == np.uint8
    model.save(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        keras.saving.load_model(tmp_path / "model.keras").predict(feed, verbose=0),
        model.predict(feed, verbose=0))
    np.testing.assert_allclose(model.predict(feed, verbose=0), network.predict(x, verbose=0),
                               rtol=1e-6)
    with pytest.raises(UserError, match=r"takes images of shape \(8, 8\), got \(28, 28\)"):
        preprocessing.encode(np.zeros((1, 28, 28), np.uint8))


def test_augmentation_moves_training_pixels_but_keeps_shapes_and_labels():
    x = np.zeros((8, 28, 28, 1), "float32")
    x[:, 10:18, 12:16] = 1.0  # a bar in the middle, easy to see move
    y = np.eye(8, dtype="float32")
    batch_x, batch_y = next(iter(to_dataset(x, y, 8, augment=images.RandomShiftRotate(seed=0))))
    assert batch_x.shape == x.shape
    np.testing.assert_array_equal(batch_y, y)
    assert not np.allclose(batch_x, x)
    assert float(np.min(batch_x)) >= 0.0  # the border fills with black, not reflections


def centre_of_mass(images):
    """(row, column) of each image's ink, (n, 2)."""
    rows, columns = np.indices(images.shape[1:3])
    mass = images[..., 0].sum(axis=(1, 2))
    return np.stack([(images[..., 0] * rows).sum(axis=(1, 2)) / mass,
                     (images[..., 0] * columns).sum(axis=(1, 2)) / mass], axis=1)


def test_shift_and_turn_stay_within_their_bounds_and_repeat_with_the_seed():
    x = np.zeros((64, 28, 28, 1), "float32")
    x[:, 10:18, 12:16] = 1.0
    unmoved = images.RandomShiftRotate(shift=0.0, turn=0.0, seed=0)(x)
    np.testing.assert_allclose(unmoved, x, atol=1e-6)  # no shift, no turn: the image itself
    shifted = np.asarray(images.RandomShiftRotate(shift=0.1, turn=0.0, seed=0)(x))
    moves = centre_of_mass(shifted) - centre_of_mass(x)
    assert np.abs(moves).max() <= 0.1 * 28 + 1e-3  # at most 10% of each side
    assert np.abs(moves).max() > 1.0 and len(np.unique(moves.round(3), axis=0)) > 32
    turned = np.asarray(images.RandomShiftRotate(shift=0.0, turn=0.03, seed=0)(x))
    np.testing.assert_allclose(centre_of_mass(turned), centre_of_mass(x), atol=0.05)  # about
    assert not np.allclose(turned, x)  # its centre, which stays put
    again = images.RandomShiftRotate(shift=0.1, turn=0.0, seed=0)(x)
    np.testing.assert_array_equal(again, shifted)  # the same seed, the same draws
    np.testing.assert_array_equal(images.RandomShiftRotate(seed=0)(x, training=False), x)


def test_augment_follows_the_recipe_unless_told_and_is_refused_for_tables():
    plan, _ = prepare("mnist-5k-cnn", RunOptions())
    assert plan.config.augment is not None  # the recipe's default
    plan, _ = prepare("mnist-5k-cnn", RunOptions(augment=False))
    assert plan.config.augment is None  # --no-augment
    with pytest.raises(UserError, match=r"--augment shifts and rotates training images; "
                                        r"iris is not an image recipe"):
        prepare("iris", RunOptions(augment=True))


# --- training -------------------------------------------------------------------------------


@pytest.mark.slow
def test_digits_cnn_beats_chance_by_far_and_writes_the_image_plots(tmp_path):
    metrics = run("digits-cnn", RunOptions(epochs=5, quiet=True, augment=True, out=tmp_path))
    assert metrics["test"]["accuracy"] > 0.8  # chance: 0.1
    assert metrics["augment"] is True
    assert metrics["baseline"]["train_examples"] == metrics["examples"]["train"] == 1167
    for plot in ("confusion_matrix.png", "misclassified.png", "accuracy.png", "loss.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["classes"] == [str(digit) for digit in range(10)]


def test_mnist_cnn_defaults_rerun_identically_with_deterministic(tmp_path):
    """mnist-cnn's hyperparameters (its shifted views, smoothed labels, warmed-up schedule) and
    precision (bfloat16 where the CPU has AMX), on the offline 5,000 digits, augmented: the same
    seed with --deterministic twice gives the same test accuracy and the same served
    probabilities."""
    hyperparameters = RECIPES["mnist-cnn"].hyperparameters
    assert hyperparameters.get("test_shifts")  # the default this guards
    mixed = RECIPES["mnist-cnn"].mixed_precision and devices.fast_mixed_policy() is not None
    runs = []
    for attempt in ("first", "second"):
        out = tmp_path / attempt
        metrics = run("mnist-5k-cnn", RunOptions(
            epochs=2, seed=3, deterministic=True, quiet=True, out=out, augment=True,
            mixed_precision=mixed, hyperparameters=dict(hyperparameters)))
        assert metrics["precision"] == ("mixed_bfloat16" if mixed else "float32")
        runs.append((metrics["test"]["accuracy"],
                     json.loads((out / "metrics.json").read_text())["test"]))
    assert runs[0] == runs[1]
    assert runs[0][0] > 0.5  # two epochs of 3,250 digits already far beyond chance (0.1)
