"""Event contracts: the JSON Schema files are the source of truth, the rest derives from them.

- ``json/*.schema.json``: Draft 2020-12 schemas of every input (contract §3, appeals §10)
  and output (contract §8, §10) event, sharing ``common.schema.json`` through a ``referencing`` registry;
- ``contracts``: loading, bundling and compiling them (once);
- ``validation``: ``EventValidator`` (and ``DisputeValidator`` for the appeal inputs) with the
  stable rejection reason codes;
- ``records``: frozen typed records of accepted input events;
- ``deadletter``: the dead-letter event of a rejected record;
- ``examples``: one canonical valid event per type, for tests and docs.
"""
