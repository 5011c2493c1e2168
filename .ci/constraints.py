"""Print constraints.txt: exact pins of newsbot's runtime dependencies, as installed here.

Run it in a virtual environment where the tests passed (pip install -e '.[dev]' && pytest):

    python .ci/constraints.py > constraints.txt

Walks the installed newsbot's requirements (not its extras) and theirs, with the environment's
markers (this Python, this platform: the Dockerfile's python:3.11-slim on Linux should match).
The Dockerfile installs with ``--constraint=constraints.txt``, so the image gets these versions.
"""
import re
from importlib.metadata import distribution, PackageNotFoundError
from packaging.requirements import Requirement
from packaging.markers import default_environment

def canon(n): return re.sub(r"[-_.]+", "-", n).lower()
seen = {}
def walk(name, extras=()):
    try:
        d = distribution(name)
    except PackageNotFoundError:
        return
    key = canon(d.metadata["Name"])
    first = key not in seen
    seen.setdefault(key, (d.metadata["Name"], d.version))
    for r in d.requires or []:
        req = Requirement(r)
        env = default_environment()
        ok = False
        if req.marker is None:
            ok = True
        else:
            for e in ("",) + tuple(extras):
                env["extra"] = e
                if req.marker.evaluate(env):
                    ok = True
                    break
        if ok and (canon(req.name) not in seen or req.extras):
            walk(req.name, tuple(req.extras))
d = distribution("newsbot")
for r in d.requires:
    req = Requirement(r)
    if req.marker is None:
        walk(req.name, tuple(req.extras))
print("# Exact versions of newsbot's runtime dependencies, used by the Dockerfile")
print("# (pip install --constraint=constraints.txt .). Regenerate: python .ci/constraints.py")
print("# > constraints.txt, in a virtual environment where the tests passed.")
for key in sorted(seen):
    if key == "newsbot": continue
    name, ver = seen[key]
    print(f"{key}=={ver}")
