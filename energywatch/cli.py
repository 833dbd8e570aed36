"""The `energywatch` command: one subcommand per service and administrative task.

Service modules are imported inside their commands so that `energywatch edge` runs on a
gateway that has only the edge dependencies, and `--help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from energywatch import logs
from energywatch.errors import EnergyWatchError, RegistryError
from energywatch.settings import Settings, load_settings, require_secrets

app = typer.Typer(
    help="EnergyWatch: online monitoring of energy use and carbon emissions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema: migrations and reference data.", no_args_is_help=True)
registry_app = typer.Typer(help="Enterprises, stations, devices and points.", no_args_is_help=True)
mqtt_app = typer.Typer(
    help="Broker configuration generated from the registry.", no_args_is_help=True
)
users_app = typer.Typer(help="People who sign in to the API and dashboard.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(mqtt_app, name="mqtt")
app.add_typer(users_app, name="users")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (else ENERGYWATCH_CONFIG)."),
]
OnceOption = Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")]


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        typer.echo(f"energywatch {version('energywatch')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """EnergyWatch: online monitoring of energy use and carbon emissions."""


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings(config: Path | None, *secrets: str) -> Settings:
    """The settings, with the `secrets` the command uses checked (every problem at once)."""
    try:
        settings = load_settings(config)
        require_secrets(settings, *secrets)
    except EnergyWatchError as exc:
        _fail(str(exc))
    logs.configure(settings.log_level)
    return settings


def check_database(url: str) -> None:
    """Stop with one line naming the setting when the database does not answer."""
    from energywatch.dependencies import check_database

    check_database(url)


def redact(url: str) -> str:
    from energywatch.dependencies import redact

    return redact(url)


# --- database ----------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "heads",
) -> None:
    """Create or migrate the schema, then load the reference data. Safe to run again."""
    from energywatch.storage.create import ensure_database
    from energywatch.storage.migrate import current_heads, upgrade

    s = _settings(config)
    if ensure_database(s.database.url):
        typer.echo(f"created the database {redact(s.database.url)}")
    typer.echo(f"migrating {redact(s.database.url)} to {revision} ...")
    upgrade(
        s.database.url,
        revision,
        use_timescaledb=s.database.use_timescaledb,
        compress_after_days=s.database.compress_after_days,
        compress_rollups_after_days=s.database.compress_rollups_after_days,
        retain_days=s.database.retain_days,
        hourly_refresh_days=s.database.hourly_refresh_days,
    )
    typer.echo(f"schema at {', '.join(sorted(current_heads(s.database.url)))}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. 'base'.")],
    config: ConfigOption = None,
) -> None:
    """Migrate the schema down to REVISION ('base' removes everything)."""
    from energywatch.storage.migrate import current_heads, downgrade

    s = _settings(config)
    check_database(s.database.url)
    downgrade(s.database.url, revision)
    typer.echo(f"schema at {', '.join(sorted(current_heads(s.database.url))) or 'base'}")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Show the schema revisions the database is at."""
    from energywatch.storage.migrate import current_heads, script_heads

    s = _settings(config)
    check_database(s.database.url)
    at, latest = current_heads(s.database.url), script_heads()
    typer.echo(f"database: {', '.join(sorted(at)) or 'empty'}")
    typer.echo(f"latest:   {', '.join(sorted(latest))}")
    if at != latest:
        raise typer.Exit(1)


# --- registry ----------------------------------------------------------------------------


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="Registry file: .yaml/.yml or .csv.")],
    config: ConfigOption = None,
) -> None:
    """Import sites, devices and points. A bad file is refused whole, with every problem."""
    from energywatch.storage.engine import make_engine
    from energywatch.storage.registry import import_registry_file

    s = _settings(config)
    check_database(s.database.url)
    engine = make_engine(s.database.url, pool_size=1)
    try:
        summary = import_registry_file(engine, file)
    except RegistryError as exc:
        typer.secho(f"{file}: refused, nothing was written:", err=True, fg=typer.colors.RED)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"imported {summary} from {file}")


# --- services ----------------------------------------------------------------------------


@app.command()
def ingest(config: ConfigOption = None) -> None:
    """Store device readings from MQTT in the database (at-least-once, deduplicated)."""
    from services.ingest.command import run

    run(_settings(config))


@app.command()
def rollup(config: ConfigOption = None, once: OnceOption = False) -> None:
    """Keep 15-minute consumption, tce and tCO2 up to date, recomputing late data."""
    from services.rollup.command import run

    s = _settings(config)
    if once:  # a service outlives an outage; one pass reports it and stops
        check_database(s.database.url)
    run(s, once=once)


@app.command()
def alerting(config: ConfigOption = None, once: OnceOption = False) -> None:
    """Evaluate alert rules over the fleet and send notifications."""
    from services.alerting.command import run

    s = _settings(config, "alerting.webhook_secret")
    if once:
        check_database(s.database.url)
    run(s, once=once)


@app.command()
def api(config: ConfigOption = None) -> None:
    """Serve the REST API, the live stream and the web dashboard."""
    from services.api.command import run

    run(_settings(config, "api.secret_key"))


@app.command()
def edge(
    config: Annotated[Path, typer.Option("--config", "-c", help="Edge agent YAML config.")],
) -> None:
    """Run the edge agent: read meters and analysers, queue on disk, publish over MQTT."""
    from edge.command import run

    logs.configure()
    if not config.is_file():
        _fail(f"edge config {config} does not exist")
    run(config)


@app.command()
def demo(
    config: ConfigOption = None,
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its database and queues.")
    ] = Path("var/demo"),
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
) -> None:
    """Run the whole system on one machine with a simulated region (demo credentials)."""
    import os

    from services.demo.command import run

    os.environ.setdefault("ENERGYWATCH_DEMO", "1")
    run(_settings(config), data_dir=data_dir, duration_s=duration)


# --- administration ----------------------------------------------------------------------


@mqtt_app.command("acl")
def mqtt_acl(
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option(help="Directory for dynamic-security.json.")] = Path(
        "deploy/mosquitto/generated"
    ),
) -> None:
    """Write Mosquitto's dynamic security file: accounts bound to client ids, ACLs."""
    from energywatch.broker.acl import write_broker_files

    s = _settings(config)
    check_database(s.database.url)
    for path in write_broker_files(s, out):
        typer.echo(f"wrote {path}")
    typer.echo("Mosquitto reads it at start only: restart the broker to apply it")


PasswordOption = Annotated[
    str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="admin, regulator or operator.")],
    scope: Annotated[
        str | None,
        typer.Option(help="regulator: division code prefix(es); operator: site code."),
    ] = None,
    config: ConfigOption = None,
    password: PasswordOption = "",
) -> None:
    """Add a user (the password is asked for, never shown)."""
    from services.api.users import add_user

    add_user(_settings(config), username, password, role, scope)
    typer.echo(f"added {role} {username}")


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """List the users: name, role, scope, and whether they are disabled."""
    from services.api.users import list_users

    for user in list_users(_settings(config)):
        state = "  disabled" if user.disabled else ""
        typer.echo(f"{user.username}\t{user.role}\t{user.scope or '-'}{state}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Stop a user from signing in; their sessions and API keys stop working at once."""
    from services.api.users import disable_user

    disable_user(_settings(config), username)
    typer.echo(f"disabled {username}")


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument()],
    config: ConfigOption = None,
    password: PasswordOption = "",
) -> None:
    """Set a user's password (asked for, never shown)."""
    from services.api.users import set_password

    set_password(_settings(config), username, password)
    typer.echo(f"password of {username} changed")


def main() -> None:
    try:
        app()
    except EnergyWatchError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
