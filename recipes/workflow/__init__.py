"""A recipe end to end: prepare (load, split, fit the preprocessing, pick the model), build the network, train, evaluate and write the run."""
