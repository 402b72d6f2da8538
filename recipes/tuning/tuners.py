"""keras-tuner's three search algorithms, with what our searches add to each (`ZooSearch`).

A killed search continues with `--resume`: keras-tuner reloads its oracle from `search/`, keeps
the finished trials and runs the interrupted one again. With KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set, the same command is the chief (serves the
oracle, then reports, selects and retrains) or a worker (runs trials until the oracle has none
left): `distributed_role`.
"""

import os
import sys
import warnings
from pathlib import Path

import keras
import keras_tuner
from sklearn.exceptions import ConvergenceWarning

from recipes import choices
from recipes.compat import keras_private, tuner_private
from recipes.runs import artifacts, rundir
from recipes.training import callbacks
from recipes.errors import UserError

SEARCH_DIR = "search"  # keras-tuner's project: oracle state, one folder per trial
ORACLE_KEYS = ("start_order", "end_order", "ongoing_trials", "tried_so_far")  # what reloading reads
HYPERBAND_FACTOR = 3  # keras-tuner's default: each round keeps the best third, for 3x the epochs


class SaveBestEpoch(tuner_private.SaveBestEpoch):
    """keras-tuner's checkpoint of a trial's best epoch, written as `run` writes its own
    (callbacks.save_weights): HDF5 writing straight to a full disk crashes the process."""

    def _save_model(self):
        callbacks.save_weights(self.model, self.filepath)



class ZooSearch:
    """What our tuners add to keras-tuner's: seeded trials, flat memory, one kept checkpoint, a
    live report.

    keras-tuner clears the Keras session before it builds each trial's model, but that leaves
    every `model.fit`'s traced training step alive (5-9 MB each): `release_training_graphs` frees
    them at the trial's end. Each trial also saves its best epoch's weights, which `prune` deletes
    again unless the trial is the best so far (or Hyperband may still train it further), so disk
    use stays at one checkpoint.
    """

    def __init__(self, *, trial_seed, report, after_trial, quiet, **kwargs):
        self.trial_seed, self.quiet = trial_seed, quiet
        self.report = report  # trials -> None: rewrites trials.csv and tuning.png
        self.after_trial = after_trial  # trial -> None, or None: the caller's, once it is reported
        self.finished = []  # trials this process ran
        super().__init__(**kwargs)

    def run_trial(self, trial, *args, **kwargs):
        """A failure to write stops the search (keras-tuner would fail the trial and go on to
        the next, which fails the same way), leaving the trial unfinished for --resume."""
        try:
            return super().run_trial(trial, *args, **kwargs)
        except Exception as error:
            if artifacts.write_failure(error) is None:
                raise
            raise keras_tuner.errors.FatalError(str(error)) from error

    def on_trial_begin(self, trial):
        self.gradients_before = set(keras_private.custom_gradient_registry())
        super().on_trial_begin(trial)
        # A trial's initial weights depend on its number only, so a resumed search matches.
        keras.utils.set_random_seed(self.trial_seed + int(trial.trial_id))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle scores the trial and saves its state
        release_training_graphs(self.gradients_before)
        self.finished.append(trial)
        if trial.status != "COMPLETED" and not self.quiet:
            print(f"Trial {trial.trial_id} failed: {failure(trial)}", file=sys.stderr, flush=True)
        self.prune(self.finished)
        if distributed_role() is None:  # workers have no oracle; the chief reports at the end
            self.report(self.oracle.trials.values())
        if self.after_trial is not None:
            self.after_trial(trial)

    def prune(self, trials, *, final=False):
        """Delete the checkpoints of these finished trials, except the best one's."""
        best = {t.trial_id for t in self.oracle.get_best_trials(1) if t.status == "COMPLETED"}
        for trial in trials:
            if trial.trial_id not in best and (final or not self.may_continue(trial)):
                Path(self._get_checkpoint_fname(trial.trial_id)).unlink(missing_ok=True)

    def may_continue(self, trial):
        """Whether a later trial starts from this trial's weights."""
        return False


class RandomSearch(ZooSearch, keras_tuner.RandomSearch):
    pass


class BayesianOptimization(ZooSearch, keras_tuner.BayesianOptimization):
    def __init__(self, *, max_trials, **kwargs):
        # keras-tuner starts from 3 random points per hyperparameter (18 for the MLP space): more
        # than a small budget, which would make it a random search. A third of the budget instead.
        super().__init__(max_trials=max_trials, num_initial_points=max(2, max_trials // 3),
                         **kwargs)

    def search(self, *args, **kwargs):
        # With a handful of points the Gaussian process's length scales often reach their bounds:
        # expected here, and scikit-learn's warning for each trial would drown the output.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().search(*args, **kwargs)


class Hyperband(ZooSearch, keras_tuner.Hyperband):
    def __init__(self, *, max_trials, hypermodel, **kwargs):
        super().__init__(hypermodel=hypermodel, max_epochs=hypermodel.plan.config.epochs,
                         factor=HYPERBAND_FACTOR, **kwargs)
        # Hyperband sizes its brackets from max_epochs alone; hold it to the same trial budget as
        # the other tuners (its first brackets train many configurations for a few epochs).
        self.oracle.max_trials = max_trials

    def may_continue(self, trial):
        # A trial below the last round of its bracket may be promoted: trained further from its
        # checkpoint in the next round.
        values = trial.hyperparameters.values
        return values["tuner/round"] < values["tuner/bracket"]


TUNERS = {"random": RandomSearch, "hyperband": Hyperband, "bayesian": BayesianOptimization}
assert tuple(TUNERS) == choices.TUNERS


def check_state(out):
    """A search folder to resume: keras-tuner's state whole, or one line. keras-tuner itself
    reloads a damaged oracle.json or trial.json with a traceback (JSONDecodeError, KeyError),
    and a trial its oracle lists but whose folder is gone fails only when the trial ends."""
    folder = Path(out) / SEARCH_DIR
    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise UserError(f"cannot resume the search in {out}: {folder} is not a folder; "
                        f"choose another --out")
    if not any(folder.iterdir()):
        return  # stopped before keras-tuner wrote anything: the search starts again
    oracle = rundir.json_file(folder / "oracle.json")
    if not all(isinstance(oracle.get(key), (list, dict)) for key in ORACLE_KEYS):
        raise UserError(rundir.unreadable(folder / "oracle.json", "not a keras-tuner oracle"))
    if os.path.lexists(folder / "tuner0.json"):
        rundir.json_file(folder / "tuner0.json")
    for trial_id in dict.fromkeys([*oracle["start_order"], *oracle["end_order"]]):
        path = folder / f"trial_{trial_id}" / "trial.json"
        if rundir.json_file(path).get("trial_id") != trial_id:
            raise UserError(rundir.unreadable(path, f"not trial {trial_id}'s record"))


def make_tuner(kind, hypermodel, out, options, tune_options, report, after_trial=None):
    """The `kind` tuner over `hypermodel`, its project in OUT/search (reloaded if it exists)."""
    tuner_private.use_save_best_epoch(SaveBestEpoch)  # run_trial makes one per trial
    tuner_private.quiet_failed_trials()  # ZooSearch prints a failed trial's last line instead
    reloading = (Path(out) / SEARCH_DIR / "oracle.json").is_file()
    try:
        return new_tuner(kind, hypermodel, out, options, tune_options, report, after_trial)
    except UserError:
        raise
    except Exception as error:  # reloading state check_state passed: keras-tuner raises many kinds
        if not reloading or artifacts.write_failure(error) is not None:
            raise
        raise UserError(f"cannot resume the search in {out}: keras-tuner could not reload "
                        f"{SEARCH_DIR}/ ({artifacts.reason(error)}); choose another --out") from None


def new_tuner(kind, hypermodel, out, options, tune_options, report, after_trial):
    return TUNERS[kind](
        hypermodel=hypermodel, objective=hypermodel.objective, max_trials=tune_options.max_trials,
        seed=options.seed + 1,  # the oracle's; keras-tuner draws a random one for 0
        trial_seed=options.seed, executions_per_trial=tune_options.executions_per_trial,
        directory=str(out), project_name=SEARCH_DIR, overwrite=False, report=report,
        after_trial=after_trial, quiet=options.quiet,
        # A diverged trial fails (ZooHyperModel.fit) and the search goes on; one that finishes
        # nothing ends in tune's own error, not keras-tuner's RuntimeError.
        max_consecutive_failed_trials=tune_options.max_trials + 1)


def release_training_graphs(keep):
    """Free the training steps traced since the registry held `keep`.

    Keras' optimizer sums gradients through a `tf.custom_gradient`, which registers a closure
    under "CustomGradient-N" for every traced step, and the closure holds that step's whole graph.
    Nothing ever removes it, `clear_session` included (tensorflow/tensorflow#97697), so each
    `fit` kept 5-9 MB for good: 6 MB a trial on boston-housing, 9 on digits-cnn.
    """
    registry = keras_private.custom_gradient_registry()
    for name in [n for n in registry if n.startswith("CustomGradient-") and n not in keep]:
        del registry[name]


def failure(trial):
    """The last line of a failed trial's traceback, which keras-tuner keeps in its trial.json."""
    line = ((trial.message or "").strip().splitlines() or ["no error recorded"])[-1]
    return line.split("FailedTrialError: ", 1)[-1]  # ours say why; other errors keep their kind


def distributed_role():
    """'chief' or 'worker' in keras-tuner's distributed mode, None on one machine."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if v not in os.environ]
    if missing:
        raise UserError(f"KERASTUNER_ORACLE_IP is set, so distributed tuning also needs "
                        f"{' and '.join(missing)} (KERASTUNER_TUNER_ID: chief, tuner0, ...)")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def best_trial(tuner, out):
    """The search's best trial; a `UserError` with the last failure when none finished."""
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].status != "COMPLETED":
        last = max(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
        raise UserError(f"no trial of the search in {out} finished (the last: {failure(last)}); "
                        f"all errors are in {out / SEARCH_DIR}/trial_*/trial.json")
    return best[0]
