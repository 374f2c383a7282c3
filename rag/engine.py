"""The engine: the loaded embedder and index, and the operations every front end uses.

The CLI, the HTTP service and the evaluation harness all go through one ``Engine``. It is built once
(the model loads at construction, never at import) and passed around explicitly: no global singleton.
Reads use an immutable snapshot of the index; an update builds a new snapshot and swaps the reference,
so reads keep being served while documents are added or deleted.
"""
