"""The names the command line offers, kept free of TensorFlow so `list` and `--help` stay instant.

Each is the key set of a registry that lives in a heavier module, or the one list such a module
validates against (TARGET_TRANSFORMS: recipes.features.targets; CLASS_WEIGHTS:
recipes.workflow); tests/test_architecture.py checks every one against what it stands for, so a
name is added here and in its registry, and nowhere else.
"""

TASKS = ("regression", "binary", "multiclass")  # zoo.tasks.TASKS
APIS = ("functional", "sequential")  # zoo.common.APIS
CLASS_WEIGHTS = ("balanced",)  # recipes.workflow.run: zoo.tasks.Task.balanced_weights
TARGET_TRANSFORMS = ("auto", "none", "standard", "log")  # recipes.features.targets.fit_scale
LOOPS = ("fit", "tape", "scratch")  # recipes.training.train.LOOPS
SCRATCH_MODELS = ("linear_regression", "softmax_regression")  # recipes.training.scratch.MODELS
FORMATS = ("savedmodel", "onnx", "tflite")  # recipes.serving.export: the SavedModel and its conversions
TUNERS = ("random", "hyperband", "bayesian")  # recipes.tuning.tuners.TUNERS
COLUMN_OVERRIDES = {  # --ignore and recipes.roles.overridable(): flag -> help; DataOptions fields
    "ignore": "leave COL out", "categorical": "treat COL as categories (such as integer codes)",
    "numeric": "treat COL as numbers (up to 5% non-numbers read as missing)",
    "text": "treat COL as free text (the text recipe: the column to classify)",
    "date": "treat COL as a date (YYYY-MM-DD, DD/MM/YYYY, MM/DD/YYYY, ...)"}

# CSV files bigger than this many MB stream (recipes/sources/stream.py) unless --no-stream. Chosen on
# benchmarks/scale.py: in memory an epoch is faster up to ~100k rows (7 MB), streamed the whole
# command is faster from there and takes a third of the memory at 1M rows (67 MB).
STREAM_MB = 32
SAMPLE_ROWS = 100_000  # training rows a streamed file's statistics are learned from
