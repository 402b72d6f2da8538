"""The recipe catalogue: which data set, which zoo builder, which defaults.

Plain data, no TensorFlow import, so `python -m recipes list` answers instantly.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    name: str
    dataset: str
    model: str
    task: str  # "regression" | "binary" | "multiclass" | "infer" (CSV: decided by the data)
    hyperparameters: dict = field(default_factory=dict)
    epochs: int = 200
    batch_size: int = 32
    patience: int = 20  # early stopping on validation loss, best weights restored
    description: str = ""


CATALOG = [
    Recipe("boston-housing", "boston-housing", "dense_regressor", "regression",
           {"hidden_units": (64, 64), "learning_rate": 3e-3}, epochs=300, batch_size=16,
           description="Boston house prices (mlxtend), MLP regressor"),
    Recipe("auto-mpg", "auto-mpg", "dense_regressor", "regression",
           {"hidden_units": (64, 64), "learning_rate": 3e-3}, epochs=300, batch_size=16,
           description="Fuel efficiency (mlxtend), categorical origin one-hot encoded"),
    Recipe("diabetes", "diabetes", "dense_regressor", "regression",
           {"hidden_units": (32,), "dropout": 0.1, "learning_rate": 1e-2}, epochs=300,
           description="Diabetes progression (scikit-learn), MLP regressor"),
    Recipe("breast-cancer", "breast-cancer", "binary_classifier", "binary",
           {"hidden_units": (32,), "dropout": 0.3, "l2": 1e-3}, epochs=200,
           description="Wisconsin breast cancer (scikit-learn), L2 + dropout"),
    Recipe("iris", "iris", "multiclass_classifier", "multiclass",
           {"hidden_units": (32,), "dropout": 0.1, "l2": 1e-4, "learning_rate": 1e-2},
           epochs=300, batch_size=16, description="Iris species (scikit-learn), L2 + dropout"),
    Recipe("wine", "wine", "multiclass_classifier", "multiclass",
           {"hidden_units": (32,), "dropout": 0.2, "l2": 1e-3, "learning_rate": 3e-3},
           epochs=300, batch_size=16, description="Wine cultivars (scikit-learn), L2 + dropout"),
    Recipe("linear-synthetic", "linear-synthetic", "linear_regression", "regression",
           {"optimizer": "sgd", "learning_rate": 0.03}, epochs=30, batch_size=10, patience=5,
           description="y = Xw + b + noise, w=[2, -3.4], b=4.2 (Dive into Deep Learning)"),
    Recipe("csv", "csv", "auto", "infer", {"dropout": 0.1}, epochs=200,
           description="Any CSV: --data PATH --target COLUMN [--task ...]"),
]

RECIPES = {recipe.name: recipe for recipe in CATALOG}

# The builder a CSV recipe uses once its task is known.
MODEL_FOR_TASK = {
    "regression": "dense_regressor",
    "binary": "binary_classifier",
    "multiclass": "multiclass_classifier",
}
