"""The Dockerfile, checked statically (no Docker engine runs on these machines).

What a user of the image relies on: a slim Python base, the same package the README installs
(built from the checkout, not fetched from PyPI by name), config/ and seeds/ inside, the SQLite file
on a volume, a non-root user, and `newsbot run` as the command. Every path the build COPYs must
exist in the checkout and must not be dropped by .dockerignore.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from bot.config.settings import Settings, sqlite_path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

Instruction = tuple[str, str]  # (KEYWORD, arguments)


def instructions() -> list[Instruction]:
    """Dockerfile -> instructions, with comments dropped and `\\` continuations joined."""
    out: list[Instruction] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "dangling line continuation at the end of the Dockerfile"
    return out


def args_of(keyword: str) -> list[str]:
    return [args for kw, args in instructions() if kw == keyword]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for args in args_of("ENV"):
        for pair in shlex.split(args):
            key, sep, value = pair.partition("=")
            assert sep, f"use ENV KEY=value, got {pair!r}"
            values[key] = value
    return values


def workdir() -> PurePosixPath:
    (path,) = args_of("WORKDIR")
    return PurePosixPath(path)


def copies() -> list[tuple[list[str], str]]:
    """Every COPY from the build context as (sources, destination)."""
    out = []
    for args in args_of("COPY"):
        parts = json.loads(args) if args.startswith("[") else shlex.split(args)
        assert not any(p.startswith("--from") for p in parts), "multi-stage: update this test"
        parts = [p for p in parts if not p.startswith("--")]
        out.append((parts[:-1], parts[-1]))
    return out


def ignored(path: str) -> bool:
    """Does .dockerignore drop this context path (or a folder above it)? `!` exceptions honoured."""
    patterns = [p.strip() for p in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    parts = PurePosixPath(path.rstrip("/")).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    dropped = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        anywhere = glob.startswith("**/")  # `**/x` matches x at any depth, `x` only at the root
        glob = glob.removeprefix("**/")
        for candidate in candidates:
            name = PurePosixPath(candidate).name
            if fnmatch.fnmatchcase(candidate, glob) or (
                    anywhere and fnmatch.fnmatchcase(name, glob)):
                dropped = not negate
    return dropped


def test_base_image_is_slim_python_311() -> None:
    bases = args_of("FROM")
    assert bases, "no FROM"
    image = bases[-1].split()[0]
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image


def test_runs_as_a_non_root_user_set_before_the_command() -> None:
    keywords = [kw for kw, _ in instructions()]
    assert "USER" in keywords and "CMD" in keywords
    last_user = max(i for i, kw in enumerate(keywords) if kw == "USER")
    assert last_user < keywords.index("CMD")
    user = instructions()[last_user][1].split(":")[0]
    assert user not in {"root", "0"}
    created = " ".join(args_of("RUN"))
    assert re.search(rf"\b(useradd|adduser)\b[^&]*\b{re.escape(user)}\b", created), user


def test_installs_the_package_from_the_build_context_like_the_readme() -> None:
    installs = [a for a in args_of("RUN") if re.search(r"\bpip3? install\b", a)]
    assert len(installs) == 1, installs
    command = re.split(r"&&|;", installs[0][installs[0].index("pip"):])[0]
    words = shlex.split(command)
    targets = [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    assert targets == ["."], f"installs {targets}, not the checkout (e.g. newsbot from PyPI)"
    assert "--no-cache-dir" in words
    # what `pip install .` needs from the context is copied before it runs
    keywords = instructions()
    install_at = keywords.index(("RUN", installs[0]))
    copied_before = {src.rstrip("/") for i, (kw, args) in enumerate(keywords)
                     if kw == "COPY" and i < install_at
                     for src in shlex.split(args)[:-1]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert {"pyproject.toml", "bot", project["readme"]} <= copied_before
    readme = REPO / "README.md"
    if readme.exists():  # the README's install command installs the same checkout
        assert re.search(r"pip install (-e )?['\"]?\.(\[\w+\])?['\"]?", readme.read_text("utf-8"))


def test_command_is_newsbot_run_and_the_console_script_exists() -> None:
    (cmd,) = args_of("CMD")
    assert json.loads(cmd) == ["newsbot", "run"]  # exec form: signals reach newsbot
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "newsbot" in project["scripts"]


def test_config_and_seeds_are_copied_to_where_the_settings_look() -> None:
    destinations = {src.rstrip("/"): (workdir() / dest).as_posix().rstrip("/")
                    for srcs, dest in copies() for src in srcs}
    assert destinations.get("config") == (workdir() / "config").as_posix()
    assert destinations.get("seeds") == (workdir() / "seeds").as_posix()
    assert env()["NEWSBOT_CONFIG_DIR"] == (workdir() / "config").as_posix()


def test_every_copied_path_exists_and_is_not_dockerignored() -> None:
    for sources, _ in copies():
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: not in the checkout"
            assert not ignored(src), f"COPY {src}: dropped by .dockerignore"


def test_dockerignore_keeps_git_local_data_and_caches_out() -> None:
    for path in (".git", "data", "data/newsbot.db", "bot/__pycache__", ".pytest_cache",
                 ".mypy_cache", "newsbot.egg-info", ".env", "tests/bench"):
        assert ignored(path), f"{path} would be sent to the build"
    for path in ("bot/app.py", "config/watchlist.yaml", "seeds/techwire.rss", "pyproject.toml"):
        assert not ignored(path), path


def test_the_database_lives_on_the_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    volumes = [v for args in args_of("VOLUME")
               for v in (json.loads(args) if args.startswith("[") else args.split())]
    for key, value in env().items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    db_file = sqlite_path(settings.database_url)
    assert db_file is not None, settings.database_url
    assert any(PurePosixPath(db_file).is_relative_to(v) for v in volumes), (db_file, volumes)
    assert settings.config_dir == Path("/app/config")


def test_what_the_package_build_reads_is_copied_before_the_install() -> None:
    """pyproject's data-files (the sample config and seeds) must be in the context at
    `pip install .`, or the build stops with "can't copy 'config/feeds.yaml'"."""
    (install,) = [a for a in args_of("RUN") if re.search(r"\bpip3? install\b", a)]
    keywords = instructions()
    install_at = keywords.index(("RUN", install))
    copied_before = [src.rstrip("/") for i, (kw, args) in enumerate(keywords)
                     if kw == "COPY" and i < install_at for src in shlex.split(args)[:-1]]
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["data-files"]
    for files in data_files.values():
        for name in files:
            assert any(PurePosixPath(name).is_relative_to(src) for src in copied_before), name


def pins() -> dict[str, str]:
    """constraints.txt -> {canonical name: version}; every line an exact ``name==version`` pin."""
    found: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin"
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_the_image_installs_with_the_constraints_file() -> None:
    (install,) = [a for a in args_of("RUN") if re.search(r"\bpip3? install\b", a)]
    assert re.search(r"(--constraint[= ]|-c )constraints\.txt", install), install
    copied = {src for srcs, _ in copies() for src in srcs}
    assert "constraints.txt" in copied and not ignored("constraints.txt")


def test_the_constraints_pin_every_runtime_dependency_within_pyproject() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = pins()
    for text in project["dependencies"]:
        req = Requirement(text)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pinned, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pinned[name]), (req.name, pinned[name], str(req.specifier))
