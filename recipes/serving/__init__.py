"""Serving a finished run: predict on raw rows, export for TF Serving, ONNX or TFLite. Nothing here imports training or tuning."""
