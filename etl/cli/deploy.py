"""``etl deploy up | instance | pools | helm-values``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import yaml

from etl.cli.command import Command, tenant_id
from etl.config.tenant_config import TenantConfig
from etl.deploy.settings import DeploymentSettings
from etl.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    deploy = parser.add_subparsers(dest="action", required=True)
    up = deploy.add_parser(
        "up", help="PostgreSQL instance, daemon, one code server per tenant and the UI, here",
        description="Start the deployment on this machine until Ctrl-C: the instance on the "
                    "PostgreSQL named by DAGSTER_PG_HOST, _PORT, _USER, _DB and _PASSWORD, the "
                    "daemon, one gRPC code server per tenant (each seeing only its own "
                    "variables) and the webserver.")
    _common(up)
    up.add_argument("--port", type=int, default=3000, help="the webserver's port")
    up.add_argument("--host", default="127.0.0.1", help="address the servers listen on")
    up.add_argument("--no-webserver", action="store_true", help="daemon and code servers only")
    up.add_argument("--single-location", action="store_true",
                    help="one code server (etl.all) holding every tenant and all their "
                         "secrets: for development or a single trusted operator")
    up.add_argument("--env-dir", type=Path,
                    help="folder of <tenant>.env files with more variables for a tenant")
    up.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    up.set_defaults(act=_up)
    instance = deploy.add_parser("instance", help="write dagster.yaml and workspace.yaml only")
    _common(instance)
    instance.add_argument("--host", default="127.0.0.1")
    instance.add_argument("--base-port", type=int, default=4266,
                          help="first code server port (one per tenant, in order)")
    instance.set_defaults(act=_instance)
    pools = deploy.add_parser("pools", help="set the tenants' pool limits in $DAGSTER_HOME")
    pools.add_argument("--tenant", action="append", type=tenant_id,
                       help="only these tenants (repeatable)")
    pools.set_defaults(act=_pools)
    helm = deploy.add_parser("helm-values", help="values for Dagster's Helm charts")
    helm.add_argument("--tenant", action="append", type=tenant_id,
                      help="only these tenants (repeatable)")
    helm.add_argument("--image", required=True, help="the user-code image, repository:tag")
    helm.add_argument("--postgresql-host", required=True)
    helm.add_argument("--postgresql-user", default="dagster")
    helm.add_argument("--postgresql-database", default="dagster")
    helm.add_argument("--output", type=Path, help="write here instead of stdout")
    _settings_options(helm)
    helm.set_defaults(act=_helm)


def _common(parser: argparse.ArgumentParser) -> None:
    from etl.deploy.settings import DEFAULT_HOME

    parser.add_argument("--home", type=Path, default=DEFAULT_HOME,
                        help=f"the deployment's DAGSTER_HOME (default {DEFAULT_HOME})")
    parser.add_argument("--tenant", action="append", type=tenant_id,
                        help="only these tenants (repeatable)")
    _settings_options(parser)


def _settings_options(parser: argparse.ArgumentParser) -> None:
    """One option per field of :class:`DeploymentSettings` (``--max-concurrent-runs 20``)."""
    from etl.deploy.settings import DeploymentSettings

    group = parser.add_argument_group("instance settings")
    for name, field in DeploymentSettings.model_fields.items():
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"setting_{name}", type=int,
                           metavar="N", help=f"{field.description} (default {field.default})")


def settings_of(args: argparse.Namespace) -> DeploymentSettings:
    from etl.deploy.settings import DeploymentSettings

    given = {name: getattr(args, f"setting_{name}", None)
             for name in DeploymentSettings.model_fields}
    return DeploymentSettings(**{k: v for k, v in given.items() if v is not None})


def load_tenants(names: list[str] | None) -> list[TenantConfig]:
    from etl.config.config_loader import load_tenant_config
    from etl.config.discovery import discover_tenants
    from etl.config.errors import ConfigError, TenantsConfigError

    configs, errors = [], []
    for tenant in names or discover_tenants():
        try:
            configs.append(load_tenant_config(tenant).config)
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise TenantsConfigError(errors)
    return configs


Action = Callable[[argparse.Namespace, list[TenantConfig], DeploymentSettings, TextIO], int]


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Each action is a function of its own, set on its parser: ``args.act``."""
    act: Action = args.act
    return act(args, load_tenants(args.tenant), settings_of(args), out or sys.stdout)


def _up(args: argparse.Namespace, tenants: list[TenantConfig], settings: DeploymentSettings,
        out: TextIO) -> int:
    from etl.deploy.local import Layout, up

    layout = Layout(args.home.resolve(), args.host, None if args.no_webserver else args.port,
                    args.env_dir, args.single_location)
    return up(layout, tenants, settings, out, args.ready_file)


def _instance(args: argparse.Namespace, tenants: list[TenantConfig],
              settings: DeploymentSettings, out: TextIO) -> int:
    from etl.deploy.local import Layout, write_files

    ports = {t.tenant.id: args.base_port + i for i, t in enumerate(tenants)}
    layout = Layout(args.home.resolve(), args.host)
    write_files(layout, tenants, settings, ports)
    out.write(f"wrote {layout.home / 'dagster.yaml'} and {layout.workspace}\n")
    return 0


def _pools(args: argparse.Namespace, tenants: list[TenantConfig], settings: DeploymentSettings,
           out: TextIO) -> int:
    from etl.deploy.instance import apply_pool_limits
    from etl.runs.home import instance

    with instance() as inst:
        for pool, limit in apply_pool_limits(inst, tenants).items():
            out.write(f"{pool}: {limit}\n")
    return 0


def _helm(args: argparse.Namespace, tenants: list[TenantConfig], settings: DeploymentSettings,
          out: TextIO) -> int:
    from etl.deploy.helm import ClusterSettings, helm_values, secret_keys

    repository, _, tag = args.image.rpartition(":")
    if not repository or "/" in tag:
        raise UsageError(f"--image {args.image!r} must be repository:tag")
    cluster = ClusterSettings(repository, tag, args.postgresql_host, args.postgresql_user,
                              args.postgresql_database)
    text = "# Generated by `etl deploy helm-values`; regenerate after adding a tenant.\n" + \
        yaml.safe_dump(helm_values(tenants, settings, cluster), sort_keys=False)
    if args.output is None:
        out.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        out.write(f"wrote {args.output}\n")
    lines = [f"#   {name}: {', '.join(keys) or '(no variables)'}"
             for name, keys in secret_keys(tenants, cluster).items()]
    sys.stderr.write("# each tenant's Kubernetes secret and the keys it must hold:\n"
                     + "\n".join(lines) + "\n")
    return 0


COMMAND = Command("deploy", "run or generate a deployment", _arguments, run)
