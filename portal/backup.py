"""`portal backup FILE` and `portal restore FILE`: everything the portal keeps in one archive.

The archive is a gzipped tar of

- ``database.sqlite3`` (SQLite, copied through its online backup API: a consistent copy
  taken while the portal writes) or ``database.dump`` (PostgreSQL, ``pg_dump
  --format=custom``: one transaction's snapshot, taken while the portal writes);
- ``uploads/…``, the uploaded files (photos, documents, sealed forms), copied after the
  database, so every file a row of the copy names is there (uploads are written before
  the row that names them);
- ``manifest.json``: the format, when, the engine, the applied migrations (the release's
  migration state) and the SHA-256 and size of every other member.

`portal restore` checks every member against the manifest before it touches anything, and
restores only into an empty database and an empty upload folder. The secret key is not in
the archive: keep ``PORTAL_SECRET_KEY`` (or ``var/secret_key``) with the deployment's other
secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal import media
from portal.settings import Settings

FORMAT = "fengqiao-portal-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.dump"
UPLOADS = "uploads"
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on, with the reason in plain words."""


@dataclass(frozen=True)
class Summary:
    engine: str
    migrations: int
    files: int
    size: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///")


# PostgreSQL: the client programs, and a few queries through asyncpg.


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（postgresql-client）。")
    return found


def _major(version_text: str) -> int | None:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    return int(match.group(1)) if match else None


def _pg_query(url: str, query: str) -> list[Any]:
    import asyncpg

    async def fetch() -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    try:
        return asyncio.run(fetch())
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"无法连接数据库：{exc}") from exc


def _check_pg_client(url: str, tool: str) -> None:
    """pg_dump refuses a server newer than itself: say so in plain words first."""
    client = subprocess.run(  # noqa: S603 (our own arguments)
        [_pg_tool(tool), "--version"], capture_output=True, text=True, check=False
    ).stdout
    server = _pg_query(url, "SHOW server_version")[0][0]
    client_major, server_major = _major(client.split(")")[-1]), _major(server)
    if client_major is not None and server_major is not None and client_major < server_major:
        raise BackupError(
            f"{tool} 的版本（{client_major}）低于数据库服务器（{server_major}），"
            f"无法备份或恢复：请安装 {server_major} 或更新版本的 PostgreSQL 客户端。"
        )


def _run_tool(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what}失败：{done.stderr.strip()[-800:]}")


# What the manifest says of the migrations.


def _migrations_sqlite(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            rows = conn.execute("SELECT app_name, name FROM migration ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []
    return [f"{app}:{name}" for app, name in rows]


def _migrations_pg(url: str) -> list[str]:
    if "migration" not in _pg_tables(url):
        return []
    rows = _pg_query(url, "SELECT app_name, name FROM migration ORDER BY id")
    return [f"{row[0]}:{row[1]}" for row in rows]


def _pg_tables(url: str) -> set[str]:
    rows = _pg_query(
        url,
        "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog',"
        " 'information_schema')",
    )
    return {row[0] for row in rows}


# Backup.


def _upload_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def backup(settings: Settings, target: Path) -> Summary:
    """Write the archive ``target`` (written beside it, then renamed: never half there)."""
    url = settings.database_url
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-backup-", dir=target.parent) as work:
        staging = Path(work)
        if _is_sqlite(url):
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError(f"找不到数据库文件 {source}。")
            database = staging / SQLITE_MEMBER
            with (
                contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
                contextlib.closing(sqlite3.connect(database)) as dst,
            ):
                src.backup(dst)
            engine, migrations = "sqlite", _migrations_sqlite(database)
        else:
            _check_pg_client(url, "pg_dump")
            database = staging / POSTGRES_MEMBER
            _run_tool(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-acl",
                    f"--file={database}",
                    url,
                ],
                "pg_dump 备份数据库",
            )
            engine, migrations = "postgresql", _migrations_pg(url)
        members: dict[str, Path] = {database.name: database}
        uploads = Path(settings.var_dir) / "uploads"
        for path in _upload_files(uploads):
            members[f"{UPLOADS}/{path.relative_to(uploads).as_posix()}"] = path
        files: dict[str, dict[str, Any]] = {}
        partial = staging / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            for name, path in members.items():
                try:
                    files[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
                    archive.add(path, arcname=name, recursive=False)
                except FileNotFoundError:
                    # An upload removed while the backup ran: its row is gone too, or goes.
                    files.pop(name, None)
            manifest = {
                "format": FORMAT,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "engine": engine,
                "migrations": migrations,
                "files": files,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    _remember_backup(settings, manifest, target)
    return Summary(engine, len(migrations), len(files) - 1, target.stat().st_size)


def _remember_backup(settings: Settings, manifest: dict[str, Any], target: Path) -> None:
    """The last backup's time and file, for the security page (``last_backup``)."""
    record = {"at": manifest["created_at"], "file": str(target), "engine": manifest["engine"]}
    with contextlib.suppress(OSError):
        (Path(settings.var_dir) / "last_backup.json").write_text(json.dumps(record))


def last_backup(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads((Path(settings.var_dir) / "last_backup.json").read_text())
    except (OSError, ValueError):
        return None


# Restore.


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError) as exc:
        raise BackupError(
            "备份文件缺少清单（manifest.json）或清单无法读取，不是本平台的备份。"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("备份文件的格式无法识别，不是本平台的备份。")
    return manifest


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _unpack_checked(file: Path, into: Path) -> dict[str, Any]:
    """Unpack the archive into ``into``, checking every member against the manifest."""
    damaged = "备份文件已损坏（校验和不符或内容不完整），未做任何恢复"
    try:
        with tarfile.open(file, "r:gz") as archive:
            manifest = _read_manifest(archive)
            expected: dict[str, dict[str, Any]] = manifest.get("files") or {}
            seen: set[str] = set()
            for member in archive:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or not member.isfile():
                    raise BackupError(f"{damaged}：清单中没有 {member.name}。")
                if not _safe_name(member.name):
                    raise BackupError(f"{damaged}：成员路径不安全（{member.name}）。")
                handle = archive.extractfile(member)
                assert handle is not None
                path = into / member.name
                path.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with path.open("wb") as out:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != expected[member.name]["sha256"]:
                    raise BackupError(f"{damaged}：{member.name} 的校验和不符。")
                seen.add(member.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(f"{damaged}：缺少 {missing[0]} 等 {len(missing)} 个文件。")
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError) as exc:
        if isinstance(exc, FileNotFoundError) and not file.exists():
            raise BackupError(f"找不到备份文件 {file}。") from exc
        raise BackupError(f"{damaged}：{exc}。") from exc
    return manifest


def _check_empty_target(settings: Settings) -> None:
    url = settings.database_url
    if _is_sqlite(url):
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise BackupError(f"目标数据库 {path} 不是空的：恢复只写入空数据库，未做任何改动。")
    elif _pg_tables(url):
        raise BackupError("目标数据库不是空的（已有数据表）：恢复只写入空数据库，未做任何改动。")
    uploads = Path(settings.var_dir) / "uploads"
    if any(_upload_files(uploads)):
        raise BackupError(f"上传文件目录 {uploads} 不是空的：恢复只写入空目录，未做任何改动。")


def restore(settings: Settings, file: Path) -> Summary:
    """Restore the archive ``file`` into this deployment's empty database and uploads."""
    url = settings.database_url
    _check_empty_target(settings)
    if not file.is_file():
        raise BackupError(f"找不到备份文件 {file}。")
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as work:
        staging = Path(work)
        manifest = _unpack_checked(file, staging)
        engine = manifest.get("engine")
        if _is_sqlite(url):
            if engine != "sqlite":
                raise BackupError("这是 PostgreSQL 的备份，不能恢复到 SQLite 数据库。")
            target = _sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            with (
                contextlib.closing(sqlite3.connect(staging / SQLITE_MEMBER)) as src,
                contextlib.closing(sqlite3.connect(target)) as dst,
            ):
                src.backup(dst)
        else:
            if engine != "postgresql":
                raise BackupError("这是 SQLite 的备份，不能恢复到 PostgreSQL 数据库。")
            _check_pg_client(url, "pg_restore")
            _run_tool(
                [
                    _pg_tool("pg_restore"),
                    "--no-owner",
                    "--no-acl",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={url}",
                    str(staging / POSTGRES_MEMBER),
                ],
                "pg_restore 恢复数据库",
            )
        uploads = media.upload_dir(Path(settings.var_dir))
        count = 0
        source = staging / UPLOADS
        for path in _upload_files(source):
            destination = uploads / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            count += 1
    return Summary(str(engine), len(manifest.get("migrations") or []), count, file.stat().st_size)
