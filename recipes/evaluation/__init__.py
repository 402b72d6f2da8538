"""Evaluation: test metrics beside a scikit-learn reference, permutation importance, and the plots a person looks at."""
