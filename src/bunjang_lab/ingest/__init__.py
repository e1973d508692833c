"""``ingest``: validate JSON Lines events into the Parquet lake, losing nothing.

Every non-blank line is either accepted, a duplicate (its ``event_id`` is already in
the lake or earlier in this run: the first record wins) or quarantined with a reason
code, so ``read == accepted + duplicates + quarantined`` always holds.

Two paths give identical results:

* the **fast path** parses the lines that look like one JSON object each with Arrow's
  multi-threaded JSON reader against the contract's schema and validates them column by
  column; when Arrow cannot read a block of lines it tries halves, down to a few lines;
* the **exact path** (:func:`bunjang_lab.events.validate`, one record at a time) decides
  every line the fast path doubts: unreadable, a field outside the contract, a rule
  broken, a blank line, a BOM, stray whitespace, an over-long line.

The fast path only ever accepts; whatever it doubts is decided by the exact path.

Modules: ``reading`` cuts input files into regions of whole lines; ``fast`` and ``exact``
are the two paths, ``regions`` sends one region through both; ``runs`` is a whole run
(:func:`ingest_files`: regions several at a time, dedup, the lake write, stats, and the
manifest that commits it: a run killed before counts nowhere); ``cli`` is the command. ``context`` (a file's settings, rows and quarantine),
``masks`` (Arrow's boolean results as numpy masks) and ``timestamps`` (the RFC 3339 check)
serve the paths.

>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> good = {"event_id": "e1", "type": "search", "ts": "2024-05-01T09:00:00+09:00", "user_id": "u1", "query": "나이키"}
>>> _ = (folder / "day.jsonl").write_text(json.dumps(good) + "\\n" + json.dumps(good) + "\\n{oops\\n")
>>> stats = ingest_files([folder / "day.jsonl"], folder / "lake")
>>> stats["read"], stats["accepted"], stats["duplicates"], stats["quarantined"], stats["by_reason"]
(3, 1, 1, 1, {'invalid_json': 1})
"""

from bunjang_lab.ingest.reading import UnreadableInput, expand_inputs
from bunjang_lab.ingest.runs import ingest_files, new_run_id

__all__ = ["UnreadableInput", "expand_inputs", "ingest_files", "new_run_id"]
