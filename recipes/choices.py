"""The names the command line offers, kept free of TensorFlow so `list` and `--help` stay instant.

Each tuple is the key set of a registry that lives in a heavier module; that module checks it
holds exactly these names when it is imported (and tests/test_architecture.py checks them all), so a
name is added here and in its registry, and nowhere else.
"""

TASKS = ("regression", "binary", "multiclass")  # zoo.tasks.TASKS
APIS = ("functional", "sequential")  # zoo.common.APIS
CLASS_WEIGHTS = ("balanced",)  # recipes.run: zoo.tasks.Task.balanced_weights
TARGET_TRANSFORMS = ("auto", "none", "standard", "log")  # zoo.tasks.TARGET_TRANSFORMS
LOOPS = ("fit", "tape", "scratch")  # recipes.train.LOOPS
SCRATCH_MODELS = ("linear_regression", "softmax_regression")  # recipes.scratch.MODELS
FORMATS = ("savedmodel", "onnx", "tflite")  # recipes.export: the SavedModel and its conversions
TUNERS = ("random", "hyperband", "bayesian")  # recipes.tuning.tuners.TUNERS
COLUMN_OVERRIDES = ("ignore", "categorical", "numeric", "text", "date")  # data.DataOptions fields
