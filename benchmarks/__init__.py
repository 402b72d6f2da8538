"""Scripts that measure the project and write reports/*.md: `python -m benchmarks.NAME [--quick]`
from the repository root (`python -m benchmarks.NAME --help` says what each measures)."""
