"""Private keras-tuner APIs: the best-epoch checkpoint its trials make, and its debug flag."""

from keras_tuner.src import config as keras_tuner_config
from keras_tuner.src.engine import tuner_utils

# keras-tuner's callback that saves a trial's best epoch (not exported; run_trial adds one).
SaveBestEpoch = tuner_utils.SaveBestEpoch


def use_save_best_epoch(cls):
    """Make every trial's `run_trial` checkpoint with `cls` (a subclass of SaveBestEpoch)."""
    if not issubclass(cls, SaveBestEpoch):
        raise TypeError(f"{cls.__name__} must subclass keras-tuner's SaveBestEpoch")
    tuner_utils.SaveBestEpoch = cls


def quiet_failed_trials():
    """keras-tuner prints a failed trial's whole traceback unless its DEBUG flag is off."""
    keras_tuner_config.DEBUG = False
