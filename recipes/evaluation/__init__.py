"""Evaluation: test metrics beside a scikit-learn reference (evaluate, baselines), permutation
importance, the plots a person looks at, and the `run all` summary page."""
