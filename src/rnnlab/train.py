"""``python -m rnnlab.train`` is ``rnnlab-train`` (the code lives in :mod:`rnnlab.cli.train`)."""

from rnnlab.cli.train import main

if __name__ == "__main__":
    main()
