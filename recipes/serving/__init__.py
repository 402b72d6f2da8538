"""Serving a finished run: predict on raw rows, export for TF Serving, ONNX or TFLite.
Nothing here imports training or tuning: loading a run folder runs no one else's code."""
