"""Features: the preprocessing fitted on the training split (preprocess) and the Keras layers that carry it inside the saved model (encoding, dates)."""
