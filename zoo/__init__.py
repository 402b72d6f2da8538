"""A zoo of classic Keras models: pure builders, registered by name.

    import zoo
    zoo.names()                                   # every registered builder
    model = zoo.build("binary_classifier", input_shape=(30,), num_outputs=1, dropout=0.3)

Nothing here reads files or data sets: loading, preprocessing and training runs are the job of
`recipes`. The one place that trains is `zoo.sklearn`: its scikit-learn estimators fit a
builder's network on the arrays they are handed, as a scikit-learn estimator's `fit` must.
"""

from zoo.registry import (  # noqa: F401
    INPUT_KINDS,
    TASK_NAMES,
    ZooError,
    build,
    entry,
    hyperparameters,
    names,
    register,
    search_space,
    tunable,
)

from zoo.tasks import TASKS, TargetError, Task, task  # noqa: F401,E402
# A run's decay_steps, and a seed ensemble of built networks as one.
from zoo.common import annealing_steps, average  # noqa: F401,E402

# Importing the families registers their builders.
from zoo import linear, sequences, tabular, vision  # noqa: F401,E402
