"""Keras 3 on TensorFlow for ``bench_speed.py``: one process per thread count (TensorFlow fixes
its thread pools when it starts). ``python keras_worker.py THREADS`` reads one case per line on
stdin (``bench_speed.Case`` as JSON) and answers each with ``{"step_s": seconds per training step,
"cpu_step_s": CPU seconds of the process per step, "params": trainable parameters}`` (or
``{"error": ...}``) on stdout.

The model is what one writes in Keras for the case: ``SimpleRNN``/``GRU``/``LSTM`` layers
(``return_sequences``) and a ``Dense`` layer per frame, Adam (lr 1e-3, global gradient norm
clipped to 1.0), trained with ``model.fit`` on in-memory arrays. Keras's ``SimpleRNN`` and
``LSTM`` have one bias vector per layer where torch has two (``GRU`` with ``reset_after``, Keras's
default, has two like torch): the Keras models are smaller by ``H`` (rnn) or ``4H`` (lstm)
parameters per layer.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(THREADS)

import keras  # noqa: E402

CLASSES = 10
LAYERS = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


class Clock(keras.callbacks.Callback):
    """When every training batch begins: wall and process CPU seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []
        self.cpu_starts: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.starts.append(time.perf_counter())
        self.cpu_starts.append(time.process_time())


def build(case: dict[str, Any]) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """The Keras model for ``case`` and ``batches`` batches of random inputs and targets:
    ``(N, T, H*W)`` flattened frames; targets ``(N, T)`` labels or the next frames."""
    pixels = case["size"] ** 2
    batches = case["warmup"] + case["steps"] + 1
    rng = np.random.default_rng(0)
    frames = rng.random((case["batch"] * batches, case["seq_len"], pixels), dtype=np.float32)
    layers: list[Any] = [keras.Input((None, pixels))]
    layers += [LAYERS[case["cell"]](width, return_sequences=True) for width in case["hidden"]]
    if case["task"] == "classify":
        layers.append(keras.layers.Dense(CLASSES))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        inputs = frames
        targets = rng.integers(0, CLASSES, frames.shape[:2])
    else:
        layers.append(keras.layers.Dense(pixels, activation=case["activation"]))
        loss = "mse"
        inputs, targets = frames[:, :-1], frames[:, 1:]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=1.0), loss=loss)
    return model, inputs, targets


def step_s(case: dict[str, Any], built: dict[str, Any]) -> tuple[float, float, int]:
    """Wall and CPU seconds per step of ``fit`` over ``case['steps']`` batches after
    ``case['warmup']``, and the model's trainable parameters."""
    if case["name"] not in built:
        built[case["name"]] = build(case)
    model, inputs, targets = built[case["name"]]
    clock = Clock()
    model.fit(
        inputs,
        targets,
        batch_size=case["batch"],
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[clock],
    )
    starts, cpu = clock.starts[case["warmup"] :], clock.cpu_starts[case["warmup"] :]
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    timed = len(starts) - 1
    return (starts[-1] - starts[0]) / timed, (cpu[-1] - cpu[0]) / timed, params


def main() -> None:
    built: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            seconds, cpu, params = step_s(json.loads(line), built)
            reply: dict[str, Any] = {"step_s": seconds, "cpu_step_s": cpu, "params": params}
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
