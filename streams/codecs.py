"""orjson codec registered with Faust under the name ``orjson``."""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs


class OrjsonCodec(codecs.Codec):
    """JSON via orjson: bytes in, bytes out, no floats invented for money (money is strings)."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register() -> None:
    """Register the codec (idempotent)."""
    codecs.register("orjson", OrjsonCodec())
