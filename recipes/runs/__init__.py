"""The run folder: its file names and safe loading (rundir), atomic writes (artifacts), one
writer per folder (lock), and Ctrl-C / SIGTERM handling (interrupts)."""
