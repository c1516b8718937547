"""``python -m rnnlab.data.mnist_download DIR`` (code: :mod:`rnnlab.data.readers.download`)."""

from rnnlab.data.readers.download import main

if __name__ == "__main__":
    main()
