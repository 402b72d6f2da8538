"""Every private Keras, keras-tuner and TensorFlow API the project relies on, in one place.

Each is wrapped in a small function here and checked by a test of its own (tests/test_compat.py),
so an upgrade that moves one fails there, by name, instead of deep inside a run; pyproject.toml
bounds the versions they were checked against. Two modules, so that training does not import
keras-tuner: `keras_private` (Keras and TensorFlow) and `tuner_private` (keras-tuner).
"""
