"""`python -m stillmotion` is the `stillmotion` command."""

from stillmotion.cli import main

main()
