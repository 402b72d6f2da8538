"""Examples per second of the training loops: Keras `fit`, the tf.function tape loop, eager tape.

    python -m benchmarks.loops            # writes reports/loops.md and reports/loops.json
    python -m benchmarks.loops --quick    # a smoke run in seconds: prints only

Each loop trains a fresh model of the same recipe once: same seed, split, batch size and epochs,
early stopping out of reach. Examples/second is the figure metrics.json reports: tracing,
validation and callbacks included, as a user sees them. "eager" is the tape loop with
`tf.config.run_functions_eagerly(True)`, the same Python run op by op: why the step is compiled.
Two more columns back the CPU defaults: `fit` with mixed_bfloat16 layers (what `--mixed-precision`
would mean on this CPU) and the tape loop with XLA (`--jit`), each against its float32 /
no-XLA figure.
"""

import dataclasses
import tempfile
import time

import tensorflow as tf

from benchmarks import common
from recipes.training import callbacks, train
from recipes.workflow import run
from recipes.workflow.prepare import build_network, prepare

RECIPES = {"mnist-5k-cnn": 3, "breast-cancer": 60}  # recipe -> epochs (--quick: 1)
VARIANTS = {  # name -> (loop, keyword arguments of `train_once`)
    "fit": ("fit", {}),
    "tape": ("tape", {}),
    "eager": ("tape", {"eager": True}),
    "fit_bf16": ("fit", {"bfloat16": True}),
    "tape_xla": ("tape", {"jit": True}),
}


def train_once(plan, loaded, loop, epochs, workdir, *, eager=False, bfloat16=False, jit=None):
    """Build the recipe's network as `run` does and train it once through `train.train` with
    `config.loop` set to `loop` and `run`'s callbacks; returns a `pipeline.TrainResult`."""
    config = dataclasses.replace(plan.config, loop=loop, epochs=epochs, patience=epochs,
                                 quiet=True, jit=jit)
    # mixed_bfloat16 layers on any machine: what --mixed-precision would mean on a CPU, where
    # `devices.mixed_precision_policy` refuses it (and means mixed_float16 on a GPU).
    network = build_network(dataclasses.replace(plan, config=config), loaded,
                            policy="mixed_bfloat16" if bfloat16 else None)
    tf.config.run_functions_eagerly(eager)
    try:
        return train.train(network, loaded.sources["train"], loaded.sources["val"], config,
                           callbacks=callbacks.standard(config, tempfile.mkdtemp(dir=workdir)))
    finally:
        tf.config.run_functions_eagerly(False)



def benchmark(name, epochs, workdir):
    plan, loaded = prepare(name, run.RunOptions(quiet=True))
    row = {"recipe": name, "model": plan.model_name, "batch_size": plan.config.batch_size,
           "epochs": epochs, "train_examples": len(loaded.sources["train"])}
    train_once(plan, loaded, "fit", 1, workdir)  # one-time start-up costs fall on no measured run
    for variant, (loop, options) in VARIANTS.items():
        result = train_once(plan, loaded, loop, epochs, workdir, **options)
        row[variant] = {"examples_per_second": result.examples_per_second,
                        "seconds": result.seconds, "final_loss": result.history["loss"][-1]}
        print(f"  {variant:<9} {result.examples_per_second:9.0f} examples/s  "
              f"loss {result.history['loss'][-1]:.4f}", flush=True)
    speed = {v: row[v]["examples_per_second"] for v in VARIANTS}
    row["ratios"] = {"tape/fit": speed["tape"] / speed["fit"],
                     "eager/fit": speed["eager"] / speed["fit"],
                     "fit bf16/fp32": speed["fit_bf16"] / speed["fit"],
                     "tape xla/no-xla": speed["tape_xla"] / speed["tape"]}
    return row


def markdown(rows, seconds, ran_on):
    lines = ["# Training loops: examples per second", "",
             f"Written by {common.written_by(__file__)}. One run of each loop on a fresh model: "
             "same seed, split, batch size and epochs (early stopping out of reach); "
             "examples/second as metrics.json reports it (tracing, validation and callbacks included). `eager` is the "
             "tape loop with `tf.config.run_functions_eagerly(True)`. Goal: tape/fit >= 0.95.", "",
             "| recipe | batch | epochs | fit | tape | eager | tape/fit | eager/fit |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        speed = {v: f"{r[v]['examples_per_second']:.0f}" for v in VARIANTS}
        lines.append(f"| {r['recipe']} | {r['batch_size']} | {r['epochs']} | {speed['fit']} | "
                     f"{speed['tape']} | {speed['eager']} | {r['ratios']['tape/fit']:.2f} | "
                     f"{r['ratios']['eager/fit']:.2f} |")
    lines += ["", "The CPU defaults: mixed_bfloat16 layers under `fit` (what `--mixed-precision` "
              "would use on a CPU with AVX512_BF16) and XLA for the tape step (`--jit`), each "
              "against float32 / no XLA. Near or below 1 means no gain on these two (batch norm, "
              "tiny matrices): a recipe mixes only where it gains (mnist-cnn on AMX units: "
              "reports/mnist.md), `--mixed-precision` is refused on a CPU without AMX, and XLA "
              "stays off unless asked for.", "",
              "| recipe | fit bf16 | fit bf16/fp32 | tape XLA | tape XLA/no-XLA |",
              "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['recipe']} | {r['fit_bf16']['examples_per_second']:.0f} | "
                     f"{r['ratios']['fit bf16/fp32']:.2f} | "
                     f"{r['tape_xla']['examples_per_second']:.0f} | "
                     f"{r['ratios']['tape xla/no-xla']:.2f} |")
    lines += ["", "Final training loss of each run (fit, tape and eager start from the same "
              "weights; bfloat16 and XLA round differently):",
              "", "| recipe | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
    lines += [f"| {r['recipe']} | " + " | ".join(f"{r[v]['final_loss']:.4f}" for v in VARIANTS)
              + " |" for r in rows]
    lines += ["", common.wall_time_line(seconds, ran_on) + " Single runs on a machine other "
              "jobs may share: read ratios within a few percent of 1 as equal."]
    return "\n".join(lines) + "\n"


def main():
    parser = common.arguments(__file__, __doc__, quick="1 epoch each")
    common.add_recipes(parser, RECIPES)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.recipes:
            epochs = 1 if args.quick else RECIPES.get(name, 10)
            print(f"{name} ({epochs} epochs)", flush=True)
            rows.append(benchmark(name, epochs, workdir))
    seconds = time.perf_counter() - start
    common.finish(args, "loops", markdown(rows, seconds, common.machine()),
                  {"rows": rows, "seconds": seconds})


if __name__ == "__main__":
    main()
