"""A zoo of classic Keras models: pure builders, registered by name.

    import zoo
    zoo.names()                                   # every registered builder
    model = zoo.build("binary_classifier", input_shape=(30,), num_outputs=1, dropout=0.3)

Nothing here reads data or trains; that is the job of `recipes`.
"""

from zoo.registry import (  # noqa: F401
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

from zoo.tasks import TASKS, Task, task  # noqa: F401,E402
# A run's decay_steps, and a seed ensemble of built networks as one.
from zoo.common import annealing_steps, average  # noqa: F401,E402

# Importing the families registers their builders.
from zoo import linear, tabular, vision  # noqa: F401,E402
