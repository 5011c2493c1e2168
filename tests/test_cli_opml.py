"""`newsbot feeds import` / `feeds export`: OPML in and out of the local tenant, hostile files
refused, imported follows kept when `newsbot run` syncs config/ at start."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import pytest
from conftest import corpora_dir

from bot.cli import main
from bot.config.apply import sync_operator_config
from bot.config.operator import LOCAL_TENANT, load_config
from bot.config.opml import parse_opml
from bot.domain.errors import ConfigError
from bot.storage import Storage, open_storage

REPO = Path(__file__).resolve().parents[1]

OPML_HEAD = '<?xml version="1.0"?>\n<opml version="2.0"><head><title>t</title></head><body>'


def opml(body: str) -> bytes:
    return (OPML_HEAD + body + "</body></opml>").encode()


def real_feed_list() -> list[tuple[str, str]]:
    """(url, title) for every shared real feed: its own http(s) link, else a generated URL."""
    base = corpora_dir("realfeeds")
    out: dict[str, str] = {}
    for i, path in enumerate(sorted(base.rglob("*"))):
        if path.suffix not in {".xml", ".rss", ".atom", ".json"}:
            continue
        text = path.read_text("utf-8", errors="replace")
        link = re.search(r"(?:<link>|href=\")(https?://[^<\"\s]+)", text)
        url = link.group(1) if link and link.group(1) not in out else \
            f"https://feeds.example.org/{i}/{path.name}"
        out[url] = f"{path.stem} & <{path.parent.name}> \"{i}\""
    assert len(out) >= 20
    return list(out.items())


def export(db: str, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    assert main(["feeds", "export", "--db", db]) == 0
    root = ElementTree.fromstring(capsys.readouterr().out)
    assert root.tag == "opml" and root.get("version") == "2.0"
    return [(o.get("xmlUrl", ""), o.get("title", "")) for o in root.iter("outline")]


def test_round_trip_over_the_real_feeds(tmp_path, capsys) -> None:
    feeds = real_feed_list()
    half = len(feeds) // 2
    nested = "".join(f'<outline text={quoteattr(t)} type="rss" xmlUrl={quoteattr(u)}/>'
                     for u, t in feeds[half:])  # the title from `text` alone
    flat = "".join(f"<outline title={quoteattr(t)} xmlUrl={quoteattr(u)}/>"
                   for u, t in feeds[:half])
    source = tmp_path / "in.opml"
    source.write_bytes(opml(flat + f'<outline text="Folder"><outline text="Sub">{nested}'
                                   "</outline></outline>"))
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["feeds", "import", str(source), "--db", db]) == 0
    assert f"imported {len(feeds)} feed(s), refused 0" in capsys.readouterr().err
    first = export(db, capsys)
    assert sorted(first) == sorted(feeds)  # titles kept, nesting flattened
    again = tmp_path / "again.opml"
    assert main(["feeds", "export", "--db", db]) == 0
    again.write_text(capsys.readouterr().out, encoding="utf-8")
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite'}"
    assert main(["feeds", "import", str(again), "--db", other]) == 0
    assert sorted(export(other, capsys)) == sorted(feeds)


def test_bad_outlines_are_reported_and_the_good_ones_imported(tmp_path, capsys) -> None:
    source = tmp_path / "mixed.opml"
    source.write_bytes(opml(
        '<outline title="Good" xmlUrl="https://a.example/feed"/>'
        '<outline title="Local" xmlUrl="file:///etc/passwd"/>'
        '<outline title="Js" xmlUrl="javascript:alert(1)"/>'
        '<outline title="NoUrl" type="rss" htmlUrl="https://b.example/"/>'
        '<outline title="Again" xmlUrl="https://a.example/feed"/>'
        '<outline title="Hostless" xmlUrl="http:///feed"/>'
        '<outline title="Also good" xmlUrl="http://c.example/rss"/>'))
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["feeds", "import", str(source), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "imported 2 feed(s), refused 5" in err
    assert "outline #2 ('Local'): xmlUrl must start with http://" in err
    assert "outline #3 ('Js')" in err and "outline #4 ('NoUrl'): no xmlUrl" in err
    assert "outline #5 ('Again'): duplicate: also outline #1 ('Good')" in err
    assert "outline #6 ('Hostless'): xmlUrl has no host" in err
    assert [u for u, _ in export(db, capsys)] == ["https://a.example/feed", "http://c.example/rss"]
    assert main(["feeds", "import", str(source), "--db", db]) == 1  # a second time: all known
    assert "outline #1 ('Good'): duplicate: already followed" in capsys.readouterr().err
    assert len(export(db, capsys)) == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<opml version="2.0"><body><outline title="&lol3;" xmlUrl="https://a.example/"/></body></opml>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline title="&ext;" xmlUrl="https://a.example/"/></body></opml>"""


@pytest.mark.parametrize("data, message", [
    (BILLION_LAUGHS, "entity declarations are not allowed"),
    (EXTERNAL, "entity declarations are not allowed"),
    (b"<opml><body><outline", "not valid XML"),
    (b"<html><body><p>hi</p></body></html>", "no <outline> elements"),
])
def test_hostile_or_broken_files_are_refused_whole(tmp_path, capsys, data, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_opml(data)
    source = tmp_path / "bad.opml"
    source.write_bytes(data)
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["feeds", "import", str(source), "--db", db]) == 1
    assert message in capsys.readouterr().err
    assert export(db, capsys) == []


def test_imported_feeds_survive_the_config_sync_at_start(tmp_path, capsys) -> None:
    source = tmp_path / "in.opml"
    source.write_bytes(opml('<outline title="Imported" xmlUrl="https://a.example/feed"/>'))
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["feeds", "import", str(source), "--db", db]) == 0
    config = tmp_path / "config"
    config.mkdir()
    (config / "feeds.yaml").write_text("feeds:\n  - url: https://b.example/rss\n")

    async def restart(cfg: Path) -> list[tuple[str, bool, str]]:
        storage: Storage = await open_storage(db)
        try:
            await sync_operator_config(storage, load_config(cfg), datetime.now(UTC))
            return sorted((f.url, f.trusted, f.source)
                          for f in await storage.feed_follows(LOCAL_TENANT))
        finally:
            await storage.dispose()

    assert asyncio.run(restart(config)) == [("https://a.example/feed", True, "opml"),
                                            ("https://b.example/rss", True, "config")]
    (config / "feeds.yaml").write_text("feeds: []\n")  # the config feed goes, the import stays
    assert asyncio.run(restart(config)) == [("https://a.example/feed", True, "opml")]


def test_export_never_creates_a_database(tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere" / "db.sqlite"
    assert main(["feeds", "export", "--db", f"sqlite+aiosqlite:///{missing}"]) == 1
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_import_of_a_missing_file_is_a_clear_error(tmp_path, capsys) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["feeds", "import", str(tmp_path / "nope.opml"), "--db", db]) == 1
    assert "nope.opml: not a file" in capsys.readouterr().err


def test_audit_never_creates_a_database(tmp_path, capsys) -> None:
    missing = tmp_path / "data" / "newsbot.db"
    assert main(["audit", "--db", f"sqlite:///{missing}"]) == 1
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_a_relative_sqlite_path_is_resolved_with_a_warning(tmp_path, monkeypatch, caplog,
                                                          capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade", "--db", "sqlite:///rel/x.db"]) == 0
    assert (tmp_path / "rel" / "x.db").is_file()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(str(tmp_path / "rel" / "x.db") in w and "relative" in w for w in warnings)


def test_an_installed_newsbot_without_config_says_how_to_give_one(tmp_path, monkeypatch,
                                                                  capsys) -> None:
    import bot.config.settings as settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(settings, "installed_share", lambda: (tmp_path / "share" / "newsbot",))
    assert settings.default_config_dir() == tmp_path / "config"
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["run", "--once", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "config folder not found" in err and "--config" in err


def test_a_non_editable_install_finds_the_sample_config_it_brought(tmp_path, monkeypatch,
                                                                   capsys) -> None:
    """pip install . puts config/ and seeds/ in <prefix>/share/newsbot (pyproject data-files):
    from a folder without config/, newsbot uses them and says so."""
    import bot.cli.demo as demo
    import bot.config.settings as settings

    share = tmp_path / "prefix" / "share" / "newsbot"
    shutil.copytree(REPO / "config", share / "config")
    shutil.copytree(REPO / "seeds", share / "seeds")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert settings.default_config_dir() == share / "config"
    assert demo.seeds_dir() == share / "seeds"
    db = f"sqlite+aiosqlite:///{work / 'db.sqlite'}"
    assert main(["run", "--once", "--no-chat-adapters", "--db", db]) == 0
    assert "Nvidia" in capsys.readouterr().out  # the sample feeds' alerts, on the console


def test_pyproject_ships_every_sample_config_and_seed_file() -> None:
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["data-files"]
    shipped = {f for files in data_files.values() for f in files}
    expected = {p.relative_to(REPO).as_posix() for folder in ("config", "seeds")
                for p in (REPO / folder).rglob("*") if p.is_file()}
    assert shipped == expected


def test_from_another_folder_a_checkout_install_uses_the_checkouts_config(tmp_path, monkeypatch
                                                                          ) -> None:
    import bot.cli.demo as demo
    import bot.config.settings as settings

    monkeypatch.chdir(tmp_path)
    assert settings.default_config_dir() == REPO / "config"
    assert demo.seeds_dir() == REPO / "seeds"
