"""Features: the preprocessing fitted on the training split only (preprocess), the target
scaling of regression recipes (targets), and the Keras layers that carry both inside the saved
model (encoding), so that what the network trains on is what it is served."""
