"""Runnable recipes: load a data set, preprocess, train a `zoo` model, evaluate, tune, export.

Command line: `python -m recipes --help`.
"""

import os

# Keep TensorFlow's C++ start-up chatter (including "failed call to cuInit" on machines with no
# GPU) out of the user's terminal; Python exceptions still carry real errors. Set the variable
# yourself to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
