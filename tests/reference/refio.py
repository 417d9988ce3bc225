"""What the reference scripts share: where the files are, reading a numeric CSV, and writing
the `.expected` file that tests/suite/reference.rs compares with gmm's printed lines
(`label<TAB>shape<TAB>values`, values in Python's shortest round-trip repr)."""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
_out = []


def emit(label, value):
    a = np.asarray(value, dtype=float)
    shape = "x".join(str(d) for d in a.shape) or "scalar"
    _out.append(f"{label}\t{shape}\t{' '.join(repr(float(v)) for v in a.ravel())}")


def read(path):
    """A CSV of numbers with a header line, NA for a missing cell, as an array of rows."""
    with open(path) as f:
        f.readline()
        return np.array(
            [[np.nan if c == "NA" else float(c) for c in line.strip().split(",")] for line in f if line.strip()]
        )


def write(name):
    """Writes everything emitted to `name` beside the scripts."""
    with open(os.path.join(HERE, name), "w") as f:
        f.write("\n".join(_out) + "\n")
