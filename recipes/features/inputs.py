"""The names of a saved model's raw inputs, one per column, shared by every kind of data.

Its own module, below the encoders of every kind (encoding.py for tables and images, tokens.py
for text, windows.py for series), so each can name its inputs without importing the others.
"""

import re


def input_names(columns):
    """Signature-safe, unique input names: "sepal length (cm)" -> "sepal_length_cm".

    Keras names the inputs itself otherwise, and a column called "stack" or "where" must not
    clash with an op's name in the SavedModel.
    """
    names = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z]+", "_", str(column)).strip("_") or "column"
        base = f"x_{base}" if base[0].isdigit() else base
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[column] = name
    return names
