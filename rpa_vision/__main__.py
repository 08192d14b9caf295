"""`python -m rpa_vision` is the same as the `rpa-vision` command."""

from rpa_vision.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
