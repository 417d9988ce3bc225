"""The gmm kernel under the real Jupyter client (jupyter_client, nbclient, nbformat).

Usage: run_lecture.py GMM EXAMPLES SCRATCH

In SCRATCH (a folder of the test's own): installs the kernelspec with `gmm jupyter install
--prefix`, executes a copy of EXAMPLES/lecture.ipynb with nbclient, and checks

- that what the notebook prints, and the text of its charts, is exactly what `gmm run` prints
  for the same code (its code cells joined into one script);
- that its outputs include SVG pictures and LaTeX formulas;
- that the outputs stored in EXAMPLES/lecture.ipynb are the ones it produces now (with
  BLESS=1 in the environment, they are written back instead);
- that an interrupt from the client stops a long cell, and the session keeps its names.

Exits with status 1 and a message on the first failed check.
"""

import difflib
import os
import shutil
import subprocess
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def printed(nb):
    """What the notebook printed, in order: stdout streams, and the text of each chart (a
    cell whose last line is a bare `plot(...)`), as `gmm run` prints a bare plot."""
    out = []
    for cell in code_cells(nb):
        last = cell.source.rstrip().splitlines()[-1]
        for o in cell.outputs:
            if o.output_type == "stream" and o.name == "stdout":
                out.append(o.text)
            elif o.output_type == "execute_result" and last.startswith("plot("):
                out.append(o.data["text/plain"] + "\n")
    return "".join(out)


def comparable(nb):
    """The outputs of each code cell, without what changes from run to run."""
    keep = ("output_type", "name", "text", "data", "execution_count", "ename", "evalue")
    return [
        [{k: o[k] for k in keep if k in o} for o in cell.outputs] for cell in code_cells(nb)
    ]


def main():
    gmm, examples, scratch = sys.argv[1:4]
    os.makedirs(scratch, exist_ok=True)
    for name in ("lecture.ipynb", "lecture_grades.csv", "lecture_blobs2d.csv"):
        shutil.copy(os.path.join(examples, name), os.path.join(scratch, name))
    prefix = os.path.join(scratch, "prefix")
    subprocess.run([gmm, "jupyter", "install", "--prefix", prefix], check=True, timeout=30)
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")
    # Jupyter's runtime files (connection files) stay in the scratch folder too.
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(scratch, "runtime")

    stored = nbformat.read(os.path.join(examples, "lecture.ipynb"), as_version=4)
    nb = nbformat.read(os.path.join(scratch, "lecture.ipynb"), as_version=4)
    for cell in code_cells(nb):
        cell.outputs = []
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="gmm",
        resources={"metadata": {"path": scratch}},
    ).execute()

    # The same code as one script, run by `gmm run`.
    script = os.path.join(scratch, "lecture.gmm")
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(c.source for c in code_cells(nb)) + "\n")
    run = subprocess.run(
        [gmm, "run", "lecture.gmm"], cwd=scratch, capture_output=True, text=True, timeout=120
    )
    check(run.returncode == 0, f"gmm run failed:\n{run.stderr}")
    mine = printed(nb)
    diff = "".join(
        difflib.unified_diff(
            run.stdout.splitlines(True), mine.splitlines(True), "gmm run", "the notebook"
        )
    )
    check(mine == run.stdout, f"the notebook printed other text than gmm run:\n{diff}")
    check("log-likelihood: -1261.3451405524063 after 100 iterations" in mine, mine)

    kinds = [k for c in code_cells(nb) for o in c.outputs for k in o.get("data", {})]
    check(kinds.count("image/svg+xml") >= 5, f"SVG pictures: {kinds}")
    check(kinds.count("text/latex") >= 2, f"LaTeX formulas: {kinds}")
    check("text/html" in kinds, f"an HTML table: {kinds}")

    if os.environ.get("BLESS"):
        for mine_cell, cell in zip(code_cells(nb), code_cells(stored)):
            cell.outputs = mine_cell.outputs
            cell.execution_count = mine_cell.execution_count
        nbformat.write(stored, os.path.join(examples, "lecture.ipynb"))
    else:
        check(
            comparable(nb) == comparable(stored),
            "examples/lecture.ipynb stores other outputs than it gives now; "
            "BLESS=1 cargo test --release kernel:: rewrites them",
        )

    interrupt()
    print("the lecture notebook ran in Jupyter, and an interrupt stopped a long cell")


def interrupt():
    km = KernelManager(kernel_name="gmm")
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=30)
        kc.execute_interactive("let kept = 41", timeout=30)
        msg_id = kc.execute("let s = 0\nfor i in 0..10000000000 {\n    s = s + i\n}")
        time.sleep(1.0)
        began = time.time()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        check(reply["parent_header"]["msg_id"] == msg_id, "the reply answers the long cell")
        content = reply["content"]
        check(content["status"] == "error", f"an interrupted cell fails: {content}")
        check(content["ename"] == "Interrupted", f"it says it was interrupted: {content}")
        check(time.time() - began < 10, "the interrupt stopped the cell promptly")
        results = []
        kc.execute_interactive(
            "kept + 1",
            timeout=30,
            output_hook=lambda m: results.append(m)
            if m["msg_type"] == "execute_result"
            else None,
        )
        check(
            [m["content"]["data"]["text/plain"] for m in results] == ["42"],
            f"the session kept its names: {results}",
        )
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=False)


if __name__ == "__main__":
    main()
