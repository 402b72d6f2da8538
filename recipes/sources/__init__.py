"""What a training loop reads, behind the protocol recipes/training/pipeline.py defines
(`DataSource`): encoded arrays in memory (arrays), or a CSV too big for memory, encoded to disk
and read back by tf.data (stream)."""
