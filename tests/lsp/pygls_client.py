"""`gmm lsp` under another project's client: pygls's LanguageClient (with lsprotocol's types).

Usage: pygls_client.py GMM EXAMPLES SCRATCH

Opens every example in EXAMPLES and checks that none gets a diagnostic; then opens a copy of
one with a misspelt name (written in SCRATCH) and checks the diagnostic: its range, code and
message. Exits with status 1 and a message on the first failed check.
"""

import asyncio
import os
import pathlib
import sys

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


async def main():
    gmm, examples, scratch = sys.argv[1:4]
    client = LanguageClient("gmm-test", "1")
    published = {}
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(params):
        published[params.uri] = params.diagnostics
        arrived.set()

    await client.start_io(gmm, "lsp")
    result = await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=os.getpid())
    )
    if result.server_info.name != "gmm":
        fail(f"the server says it is {result.server_info}")
    client.initialized(types.InitializedParams())

    async def open_and_wait(path, text):
        uri = path.as_uri()
        published.pop(uri, None)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="gmm", version=1, text=text)
            )
        )
        while uri not in published:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), timeout=20)
        return published[uri]

    files = sorted(pathlib.Path(examples).glob("*.gmm"))
    if len(files) < 10:
        fail(f"only {len(files)} examples")
    for f in files:
        found = await open_and_wait(f.resolve(), f.read_text(encoding="utf-8"))
        if found:
            fail(f"{f.name} has diagnostics: {found}")

    broken = pathlib.Path(scratch, "broken.gmm").resolve()
    text = pathlib.Path(examples, "grades.gmm").read_text(encoding="utf-8")
    text = text.replace("let dens = pdf(comps, 3.0)", "let dens = pdf(compz, 3.0)")
    broken.write_text(text, encoding="utf-8")
    found = await open_and_wait(broken, text)
    if len(found) != 1:
        fail(f"one diagnostic expected, got {found}")
    d = found[0]
    line = next(i for i, l in enumerate(text.splitlines()) if "compz" in l)
    col = text.splitlines()[line].index("compz")
    want = types.Range(types.Position(line, col), types.Position(line, col + 5))
    if d.range != want or d.code != "unknown-name" or "compz" not in d.message:
        fail(f"the diagnostic {d} is not `unknown name compz` at {want}")
    if d.severity != types.DiagnosticSeverity.Error:
        fail(f"severity {d.severity}")

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    print(f"{len(files)} examples without diagnostics; the broken copy has its one")


asyncio.run(main())
