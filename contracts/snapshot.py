"""The committed JSON Schema of every message: an accidental contract change fails CI.

Regenerate deliberately with ``python -m contracts.snapshot --write`` and review the diff.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.registry import ALL_MESSAGES

SNAPSHOT_PATH = Path(__file__).with_name("schema_snapshot.json")


def current_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Envelope": Envelope.model_json_schema()}
    for message in ALL_MESSAGES:
        schema = message.model_json_schema()
        schema["x-schema-version"] = message.schema_version
        schemas[message.type_name()] = schema
    return schemas


def render() -> str:
    return json.dumps(current_schemas(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the committed snapshot")
    args = parser.parse_args()
    if args.write:
        SNAPSHOT_PATH.write_text(render())
        print(f"wrote {SNAPSHOT_PATH}")
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()
