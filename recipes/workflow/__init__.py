"""A recipe end to end: which options combine (rules), what is decided and what is loaded
(prepare: the plan, the split data and its fitted preprocessing, the network built from both),
the run command (run), and the run folder that run, tune and grid all write (save)."""
