"""The worked examples of docs/sequences.md are drafts that publish."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sequences.md"


def test_worked_examples_save_validate_and_publish(flows):
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)
              if '"expected_revision"' in b]
    assert len(blocks) == 2
    for body in blocks:
        sid = flows.client.post(flows.base, json={}, headers=flows.headers).json()["id"]
        saved = flows.client.put(f"{flows.base}/{sid}/draft", json=body, headers=flows.headers)
        assert saved.status_code == 200, saved.text
        checked = flows.client.get(f"{flows.base}/{sid}/validate", headers=flows.headers)
        assert checked.json() == {"ok": True, "errors": []}
        flows.publish(sid)
