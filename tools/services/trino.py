"""Real Trino 476 on a free loopback port, with `hive` and `iceberg` catalogs on the test S3.

Why 476: it is the last release whose server tarball is on Maven Central (later ones are GitHub
assets only, unreachable here). It runs on the Temurin 25 JDK (25.0.3 here; 476 only checks
for Java >= 24). Starts in ~21-25 s on 2 cores with only hive, iceberg and memory plugins.

Differences from /work/shared/notes/trino-476.md, found on real runs:
- Download: the full `trino-server` tarball, not trino-server-core + plugin zips. Core 476
  exists (194 MB) but core + hive (258 MB) + iceberg (346 MB) + memory (14 MB) zips = 812 MB
  vs 821 MB for the tarball, whose plugins share hard-linked jars (494 MB unpacked and pruned,
  vs ~670 MB for the three zips alone), and `io.trino:trino-hdfs:476:zip` is not on Central.
- Added `node.bind-ip=127.0.0.1` so the HTTP server listens on loopback only.
- Added `-Djava.io.tmpdir=<run dir>/tmp` so spill/temp files go away with the run dir.
- Confirmed as written: jvm.config flags on JDK 25, `hive.metastore=file` with
  `local:///hive-metastore` + plain-path `local.location`, native S3 to moto with path-style
  (no checksum or exclusive-create settings needed), Iceberg JDBC catalog V1 with pre-created
  tables, register_partition, INSERT/DELETE-partition on external tables, add_files of
  pyarrow Parquet without field IDs, register/unregister_table, memory catalog.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from tools.services import postgres as pg
from tools.services import s3 as s3mod
from tools.services.base import (
    LOOPBACK,
    Service,
    ServiceUnavailable,
    ensure_apt_packages,
    free_port,
    make_run_dir,
    start_process,
    stop_process,
    wait_until,
)

VERSION = "476"
TARBALL_SHA256 = "cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f"
PLUGINS = ("hive", "iceberg", "memory")
DEFAULT_JAVA_HOME = "/usr/lib/jvm/temurin-25-jdk-amd64"
USER = "etl"
_MVN_COPY = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy"
_INSTALLED_MARKER = ".etl-installed"

# Trino does not create the JDBC catalog tables itself (V1 schema, with iceberg_type).
ICEBERG_JDBC_DDL = (
    """CREATE TABLE IF NOT EXISTS iceberg_tables (
        catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,
        table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000),
        previous_metadata_location VARCHAR(1000), iceberg_type VARCHAR(5),
        PRIMARY KEY (catalog_name, table_namespace, table_name))""",
    """CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
        catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL,
        property_key VARCHAR(255), property_value VARCHAR(1000),
        PRIMARY KEY (catalog_name, namespace, property_key))""",
)


def cache_dir() -> Path:
    """`${ETL_CACHE_DIR:-~/.cache/etl-dev}/trino`: outside the repo, shared by all checkouts."""
    base = os.environ.get("ETL_CACHE_DIR") or str(Path.home() / ".cache" / "etl-dev")
    return Path(base) / "trino"


def java_home() -> Path:
    """JDK for the launcher (ETL_TRINO_JAVA_HOME overrides); the system default java is 17."""
    home = Path(os.environ.get("ETL_TRINO_JAVA_HOME", DEFAULT_JAVA_HOME))
    if not (home / "bin" / "java").exists():
        raise ServiceUnavailable(
            f"no JDK at {home} (Trino {VERSION} needs Java 24+)",
            hint="install Temurin 25 there or set ETL_TRINO_JAVA_HOME to a JDK >= 24",
        )
    return home


def fetch_trino(cache: Path | None = None) -> Path:
    """Download and unpack Trino once into the cache; return TRINO_HOME.

    Idempotent and safe across processes (file lock). Only the plugins in PLUGINS are kept:
    every plugin directory is loaded at startup, so pruning the other ~55 saves seconds on every
    start. The archive and Maven's copy of it are deleted after a verified unpack.
    """
    cache = cache or cache_dir()
    home = cache / f"trino-server-{VERSION}"
    if (home / _INSTALLED_MARKER).exists():
        return home
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / _INSTALLED_MARKER).exists():
            return home
        archive = _download(cache)
        _unpack(archive, cache, home)
        # Only the unpacked tree is the cache; the archive and Maven's repo would double it.
        archive.unlink()
        shutil.rmtree(cache / "m2", ignore_errors=True)
        with contextlib.suppress(OSError):
            archive.parent.rmdir()
    return home


def _download(cache: Path) -> Path:
    dl = cache / "dl"
    archive = dl / f"trino-server-{VERSION}.tar.gz"
    if archive.exists() and _sha256(archive) == TARBALL_SHA256:
        return archive
    if shutil.which("mvn") is None:
        ensure_apt_packages(["maven"])
    cmd = [
        "mvn",
        "-B",
        "-q",
        _MVN_COPY,
        f"-Dartifact=io.trino:trino-server:{VERSION}:tar.gz",
        f"-DoutputDirectory={dl}",
        f"-Dmaven.repo.local={cache / 'm2'}",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if res.returncode != 0 or not archive.exists():
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-20:])
        raise ServiceUnavailable(f"downloading Trino {VERSION} from Maven Central failed:\n{tail}")
    digest = _sha256(archive)
    if digest != TARBALL_SHA256:
        archive.unlink()
        raise ServiceUnavailable(f"Trino tarball sha256 mismatch: {digest}")
    return archive


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _unpack(archive: Path, cache: Path, home: Path) -> None:
    # GNU tar, not tarfile: it is several times faster and keeps the jars' hard links.
    tmp = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        subprocess.run(["tar", "-xzf", str(archive), "-C", str(tmp)], check=True, timeout=1800)
        src = tmp / f"trino-server-{VERSION}"
        for plugin in (src / "plugin").iterdir():
            if plugin.name not in PLUGINS:
                shutil.rmtree(plugin)
        (src / _INSTALLED_MARKER).write_text(json.dumps({"plugins": PLUGINS}) + "\n")
        shutil.rmtree(home, ignore_errors=True)
        src.rename(home)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _props(path: Path, values: dict[str, str]) -> None:
    # No inline comments: Trino would take them as part of the value.
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))


def _s3_props(s3: Service) -> dict[str, str]:
    return {
        "fs.native-s3.enabled": "true",
        "s3.endpoint": s3.url,
        "s3.region": s3mod.REGION,
        "s3.path-style-access": "true",
        "s3.aws-access-key": s3.user,
        "s3.aws-secret-key": s3.password,
    }


def trino_config(
    run_dir: Path,
    port: int,
    s3: Service,
    iceberg_jdbc_url: str,
    pg_user: str,
    pg_password: str,
    *,
    bucket: str,
    heap: str = "2G",
) -> Path:
    """Write etc/ (node, jvm, config, log, catalogs) under `run_dir`; return the etc dir."""
    etc, data, fs, tmp = (run_dir / n for n in ("etc", "data", "fs", "tmp"))
    for d in (etc / "catalog", data, fs / "hive-metastore", tmp):
        d.mkdir(parents=True, exist_ok=True)
    _props(
        etc / "node.properties",
        {
            "node.environment": "etl_test",
            "node.id": str(uuid.uuid4()),
            "node.data-dir": str(data),
            "node.internal-address": LOOPBACK,
            "node.bind-ip": LOOPBACK,
        },
    )
    jvm = [
        "-server",
        f"-Xmx{heap}",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:ReservedCodeCacheSize=256M",
        "-XX:PerMethodRecompilationCutoff=10000",
        "-XX:PerBytecodeRecompilationCutoff=10000",
        "-Djdk.attach.allowAttachSelf=true",
        "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8",
        "-Duser.timezone=UTC",
        f"-Djava.io.tmpdir={tmp}",
        "-XX:+EnableDynamicAgentLoading",
        "--add-modules=jdk.incubator.vector",
        "--sun-misc-unsafe-memory-access=allow",
        "--enable-native-access=ALL-UNNAMED",
    ]
    (etc / "jvm.config").write_text("\n".join(jvm) + "\n")
    _props(
        etc / "config.properties",
        {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "true",
            "http-server.http.port": str(port),
            "discovery.uri": f"http://{LOOPBACK}:{port}",
            "query.max-memory": "1GB",
            "query.max-memory-per-node": "768MB",
            "memory.heap-headroom-per-node": "256MB",
        },
    )
    (etc / "log.properties").write_text("io.trino=WARN\nio.trino.server.Server=INFO\n")
    s3_props = _s3_props(s3)
    _props(
        etc / "catalog" / "hive.properties",
        {
            "connector.name": "hive",
            "hive.metastore": "file",
            "hive.metastore.catalog.dir": "local:///hive-metastore",
            "fs.native-local.enabled": "true",
            "local.location": str(fs),
            **s3_props,
            "hive.storage-format": "PARQUET",
            "hive.non-managed-table-writes-enabled": "true",
            "hive.allow-register-partition-procedure": "true",
            "hive.timestamp-precision": "MICROSECONDS",
            "hive.parquet.time-zone": "UTC",
            "hive.max-partitions-per-writers": "1000",
        },
    )
    _props(
        etc / "catalog" / "iceberg.properties",
        {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "jdbc",
            "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
            "iceberg.jdbc-catalog.connection-url": iceberg_jdbc_url,
            "iceberg.jdbc-catalog.connection-user": pg_user,
            "iceberg.jdbc-catalog.connection-password": pg_password,
            "iceberg.jdbc-catalog.catalog-name": "etl",
            "iceberg.jdbc-catalog.default-warehouse-dir": f"s3://{bucket}/warehouse",
            "iceberg.jdbc-catalog.schema-version": "V1",
            "iceberg.file-format": "PARQUET",
            "iceberg.register-table-procedure.enabled": "true",
            "iceberg.add-files-procedure.enabled": "true",
            **s3_props,
        },
    )
    _props(
        etc / "catalog" / "memory.properties",
        {"connector.name": "memory", "memory.max-data-per-node": "256MB"},
    )
    return etc


def _raise_nofile() -> None:
    # Trino refuses to start below 4096 open files; runs in the child before exec.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _create_catalog_db(postgres: Service) -> str:
    dbname = f"trino_iceberg_{uuid.uuid4().hex[:8]}"
    pg.create_database(postgres, dbname)
    with pg.connect(postgres, dbname) as conn:
        for ddl in ICEBERG_JDBC_DDL:
            conn.execute(ddl)
    return dbname


def start_trino(
    s3: Service,
    postgres: Service,
    workdir: Path | None = None,
    *,
    bucket: str = "lake",
    heap: str = "2G",
    timeout: float = 300,
) -> Service:
    """Start Trino with catalogs `hive` (file metastore) and `iceberg` (JDBC on `postgres`).

    Both catalogs store data on `s3` (path-style); `bucket` is created and used as the Iceberg
    warehouse (`s3://<bucket>/warehouse`). A fresh catalog database is created on `postgres`
    and dropped on stop. Connect as any user, e.g. `trino.dbapi.connect(host, port, user)`.
    """
    t0 = time.monotonic()
    jhome = java_home()
    home = fetch_trino()
    run_dir = make_run_dir("trino", workdir)
    log_path = run_dir / "trino.log"
    port = free_port()
    http_url = f"http://{LOOPBACK}:{port}"
    svc = Service(
        name="trino",
        host=LOOPBACK,
        port=port,
        url=f"trino://{USER}@{LOOPBACK}:{port}",
        user=USER,
        env={"TRINO_HOST": LOOPBACK, "TRINO_PORT": str(port), "TRINO_USER": USER},
        extra={"http_url": http_url, "bucket": bucket, "trino_home": str(home)},
        run_dir=run_dir,
        log_path=log_path,
    )
    try:
        s3mod.create_bucket(s3, bucket)
        dbname = _create_catalog_db(postgres)
        svc.extra["iceberg_catalog_db"] = dbname

        def drop_catalog_db() -> None:
            with contextlib.suppress(Exception):  # postgres may already be gone; it is a temp db
                pg.drop_database(postgres, dbname)

        svc.on_stop(drop_catalog_db)
        jdbc_url = f"jdbc:postgresql://{postgres.host}:{postgres.port}/{dbname}"
        etc = trino_config(
            run_dir, port, s3, jdbc_url, postgres.user, postgres.password, bucket=bucket, heap=heap
        )
        env = {**os.environ, "JAVA_HOME": str(jhome)}
        env["PATH"] = f"{jhome / 'bin'}:{env.get('PATH', '')}"
        proc = start_process(
            [
                home / "bin" / "launcher",
                "run",
                f"--etc-dir={etc}",
                f"--data-dir={run_dir / 'data'}",
            ],
            log_path=log_path,
            env=env,
            cwd=run_dir,
            preexec_fn=_raise_nofile,
        )
        svc.on_stop(lambda: stop_process(proc, timeout=30))
        deadline = time.monotonic() + timeout
        wait_until(
            lambda: _info_started(http_url),
            what="Trino /v1/info",
            timeout=timeout,
            proc=proc,
            log_path=log_path,
            interval=1,
        )
        wait_until(
            lambda: _active_nodes(svc) >= 1,
            what="Trino active node",
            timeout=max(deadline - time.monotonic(), 10),
            proc=proc,
            log_path=log_path,
            interval=1,
        )
    except BaseException:
        svc.stop()
        raise
    svc.started_in_s = time.monotonic() - t0
    return svc


def _info_started(http_url: str) -> bool:
    with urllib.request.urlopen(f"{http_url}/v1/info", timeout=5) as resp:
        return json.load(resp).get("starting") is False


def _active_nodes(svc: Service) -> int:
    rows = query(svc, "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")
    return int(str(rows[0][0]))


def query(svc: Service, sql: str, *, catalog: str | None = None) -> list[list[object]]:
    """Run one statement and return all rows (convenience for tests and readiness checks)."""
    import trino

    conn = trino.dbapi.connect(  # type: ignore[no-untyped-call,unused-ignore]
        host=svc.host, port=svc.port, user=svc.user, catalog=catalog, request_timeout=120
    )
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return [list(r) for r in cur.fetchall()]
    finally:
        conn.close()
