#!/usr/bin/env bash
# Packaging checks for the letterapp SDK:
#   1. the source is Python 3.8 compatible (vermin);
#   2. the wheel builds, installs alone into a fresh venv (no index: zero
#      runtime dependencies), imports, works, and pip list shows nothing else.
# Usage: sdks/python/scripts/check.sh        (PYTHON=/path/to/python to choose)
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${PYTHON:-}" ]]; then
  py="$PYTHON"
elif command -v python >/dev/null 2>&1; then
  py=python
else
  py=python3
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== vermin: minimum Python version of src/letterapp"
run_vermin='import sys; from vermin import main; sys.argv[0] = "vermin"; sys.exit(main())'
vermin_py="$py"
if ! "$py" -c 'import vermin' >/dev/null 2>&1; then
  if "$py" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)'; then
    "$py" -m pip install -q vermin            # inside a venv: install it there
  else
    "$py" -m venv "$tmp/tools"                # a system Python stays untouched
    "$tmp/tools/bin/python" -m pip install -q vermin
    vermin_py="$tmp/tools/bin/python"
  fi
fi
"$vermin_py" -c "$run_vermin" --target=3.8- --no-tips --violations "$sdk/src/letterapp"

echo "== build the wheel"
"$py" -m pip wheel -q --no-deps -w "$tmp/dist" "$sdk"
wheels=("$tmp"/dist/letterapp-*.whl)
if [[ ${#wheels[@]} -ne 1 || ! -f "${wheels[0]}" ]]; then
  echo "expected exactly one letterapp wheel, found: ${wheels[*]}" >&2
  exit 1
fi
wheel="${wheels[0]}"
echo "built $(basename "$wheel")"
case "$(basename "$wheel")" in
  *-py3-none-any.whl) ;;
  *) echo "the wheel is not pure Python (py3-none-any)" >&2; exit 1 ;;
esac

echo "== install it alone into a fresh venv"
"$py" -m venv "$tmp/venv"
vpy="$tmp/venv/bin/python"
# --no-index: if letterapp needed any dependency, this install would fail.
"$vpy" -m pip install -q --no-index --disable-pip-version-check "$wheel"

"$vpy" - <<'PY'
import importlib.metadata as md
import os

import letterapp
from letterapp import Letter, LetterError, Response

assert letterapp.__version__ == md.version("letterapp"), "version mismatch"
assert md.requires("letterapp") in (None, []), md.requires("letterapp")
assert os.path.exists(os.path.join(os.path.dirname(letterapp.__file__), "py.typed")), "py.typed"


class Recorder:
    def __init__(self):
        self.bodies = []

    def send(self, url, headers, body, timeout):
        self.bodies.append(body)
        return Response(200, {}, b'{"accepted": 1, "duplicates": 0, "rejected": []}')


transport = Recorder()
letter = Letter("lt_live_" + "ab" * 24, transport=transport)
letter.track("u1", "Installed")
assert letter.close(timeout=5)
assert len(transport.bodies) == 1, transport.bodies
try:
    Letter("nope")
except LetterError as err:
    assert err.status is None and err.body["error"]["code"] == "unauthorized"
else:
    raise AssertionError("a malformed key must raise")
print("import and smoke test OK (letterapp %s)" % letterapp.__version__)
PY

echo "== pip list of the fresh venv"
"$vpy" -m pip list --format=freeze --disable-pip-version-check | tee "$tmp/list.txt"
extra="$(grep -viE '^(letterapp|pip|setuptools)==' "$tmp/list.txt" || true)"
if [[ -n "$extra" ]]; then
  echo "unexpected packages next to letterapp:" >&2
  echo "$extra" >&2
  exit 1
fi
grep -qi '^letterapp==' "$tmp/list.txt" || { echo "letterapp is not installed" >&2; exit 1; }
echo "OK: letterapp installs alone and supports Python 3.8+"
