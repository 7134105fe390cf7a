"""Per fault class, how many cases of tests/fuzz.py ended clean, from the lines that
``python tests/fuzz.py`` prints (several logs may be given; a later one wins for a case).

    python docs/results/faults/tally.py before.txt [more.txt ...]
"""

import re
import sys
from collections import Counter, OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
import fuzz

names = sorted(fuzz.CASES_BY_NAME, key=len, reverse=True)
status = {}
for path in sys.argv[1:]:
    for line in open(path):
        m = re.match(r"^(ok |BAD|-- ) +[\d.]+s (.*)$", line.rstrip("\n"))
        if not m:
            continue
        rest = m.group(2)
        for n in names:
            if rest == n or rest.startswith(n + ": "):
                status[n] = m.group(1).strip()
                break
        else:
            print("unmatched", rest, file=sys.stderr)
order = OrderedDict()
for c in fuzz.cases():
    order.setdefault(c.fault, []).append(c.name)
print("| fault class | cases | clean | skipped | not run |")
print("|---|---:|---:|---:|---:|")
T = Counter()
for fault, cs in order.items():
    ok = sum(status.get(n) == "ok" for n in cs)
    sk = sum(status.get(n) == "--" for n in cs)
    nr = sum(n not in status for n in cs)
    T.update(cases=len(cs), ok=ok, sk=sk, nr=nr)
    print(f"| {fault} | {len(cs)} | {ok} | {sk} | {nr} |")
print(f"| **all** | {T['cases']} | {T['ok']} | {T['sk']} | {T['nr']} |")
