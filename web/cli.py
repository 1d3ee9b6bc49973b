"""The ``cairn`` command: set up the database, manage users and apps, run the server.

``cairn`` is Flask's command group bound to :func:`web.create_app`; ``flask --app web``
offers the same commands.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from runtime.context import Actor, CallContext
from runtime.errors import CairnError
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.platform import Platform
from runtime.workspaces import IdentityService

CREDENTIALS_FILE = "admin-credentials.json"


def _platform() -> Platform:
    return current_app.extensions["cairn"]  # type: ignore[no-any-return]


def _fail(error: Exception) -> None:
    if isinstance(error, CairnError):
        raise click.ClickException(f"{error.message}\n{error.message_zh}")
    raise click.ClickException(str(error))


def _admin_context(platform: Platform, session: Any, workspace_key: str) -> CallContext:
    identity = IdentityService(session, platform.clock)
    workspace = identity.workspace_by_key(workspace_key)
    admin = session.scalars(
        sa.select(User).where(User.workspace_id == workspace.id, User.role == "admin").order_by(User.id)
    ).first()
    actor = Actor.of(admin) if admin else Actor(id=None, workspace_id=workspace.id, role="admin")
    return CallContext(session=session, workspace=workspace, actor=actor, clock=platform.clock)


@click.command("init-db")
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@with_appcontext
def init_db(workspace_key: str) -> None:
    """Migrates the platform tables; on first run creates a workspace, an admin and a token."""
    platform = _platform()
    platform.settings.instance_path.mkdir(parents=True, exist_ok=True)
    upgrade(platform.engine)
    credentials = platform.settings.instance_path / CREDENTIALS_FILE
    with platform.session() as session:
        exists = session.scalar(sa.select(sa.func.count()).select_from(Workspace)) or 0
        if not exists:
            identity = IdentityService(session, platform.clock)
            workspace = identity.create_workspace(workspace_key, "默认工作区 Default workspace", platform.settings.default_timezone)
            password = secrets.token_urlsafe(12)
            admin = identity.create_user(workspace, "admin", name="管理员 Admin", password=password, role="admin")
            token = identity.issue_token(admin, "first-run")
            credentials.write_text(json.dumps({"username": "admin", "password": password, "token": token.token}, indent=2))
            credentials.chmod(0o600)
            click.echo("Created workspace 'default' with an admin user.")
    click.echo(f"Database ready: {platform.engine.url.render_as_string(hide_password=True)}")
    _print_login(credentials)


def _print_login(credentials: Path) -> None:
    if credentials.exists():
        data = json.loads(credentials.read_text())
        click.echo("")
        click.echo("  Sign in at http://127.0.0.1:5000/ as")
        click.echo(f"    username: {data['username']}")
        click.echo(f"    password: {data['password']}")
        click.echo(f"  API token (Authorization: Bearer …): {data['token']}")
        click.echo(f"  (kept in {credentials}; delete that file once you changed the password)")
        click.echo("")


@click.command("create-user")
@click.argument("username")
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@click.option("--name", default=None)
@click.option("--role", type=click.Choice(["admin", "manager", "rep"]), default="rep", show_default=True)
@click.option("--region", default=None)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--token/--no-token", default=False, help="Also issue an API token.")
@with_appcontext
def create_user(username: str, workspace_key: str, name: str | None, role: str, region: str | None, password: str, token: bool) -> None:
    """Creates a user (and optionally an API token)."""
    platform = _platform()
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        try:
            workspace = identity.workspace_by_key(workspace_key)
            user = identity.create_user(workspace, username, name=name, password=password, role=role, region=region)
            click.echo(f"Created user {user.username} ({user.role}) in {workspace.key}.")
            if token:
                click.echo(f"API token: {identity.issue_token(user).token}")
        except CairnError as error:
            _fail(error)


@click.command("create-workspace")
@click.argument("key")
@click.option("--name", default=None, help="Display name (default: the key).")
@click.option("--timezone", default=None, help="IANA time zone (default: CAIRN_TIMEZONE).")
@click.option("--admin-username", default=None, help="Default: <key>-admin.")
@click.option("--admin-name", default=None)
@with_appcontext
def create_workspace(key: str, name: str | None, timezone: str | None, admin_username: str | None, admin_name: str | None) -> None:
    """Creates a workspace with its own admin (the platform operator's command).

    Prints the admin's generated password and an API token once; the admin changes the
    password on first sign-in (Account → Change password).
    """
    from runtime.people import OperatorService

    platform = _platform()
    with platform.session() as session:
        try:
            created = OperatorService(session, platform.clock).create_workspace({
                "key": key, "name": name, "timezone": timezone or platform.settings.default_timezone,
                "admin_username": admin_username, "admin_name": admin_name,
            })
        except CairnError as error:
            _fail(error)
        click.echo(f"Created workspace {created.workspace.key!r} with admin {created.admin.username!r}.")
        click.echo(f"  username: {created.admin.username}")
        click.echo(f"  password: {created.password}")
        click.echo(f"  API token: {created.token}")
        click.echo("  (shown once; store them safely)")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True)
@with_appcontext
def create_token(username: str, name: str) -> None:
    """Issues an API token for a user (shown once)."""
    platform = _platform()
    with platform.session() as session:
        user = session.scalars(sa.select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise click.ClickException(f"No user {username!r}.")
        click.echo(IdentityService(session, platform.clock).issue_token(user, name).token)


@click.command("import-app")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@click.option("--publish/--no-publish", default=False, help="Publish the imported revision.")
@with_appcontext
def import_app(path: Path, workspace_key: str, publish: bool) -> None:
    """Imports an app definition (JSON file) as a draft revision."""
    from builder.errors import DefinitionInvalid
    from runtime.apps import AppService

    platform = _platform()
    with platform.session() as session:
        service = AppService(_admin_context(platform, session, workspace_key))
        try:
            revision = service.import_definition(json.loads(path.read_text(encoding="utf-8")))
        except DefinitionInvalid as error:
            for problem in error.problems:
                click.echo(f"  {problem.path}: [{problem.code}] {problem.message}", err=True)
            raise click.ClickException(f"{len(error.problems)} problem(s) in {path}") from None
        except (CairnError, ValueError) as error:
            _fail(error)
        click.echo(f"Imported {path.name} as revision {revision.number} (id {revision.id}) of app id {revision.app_id}.")
        if publish:
            _publish(service, revision.id, ())


def _publish(service: Any, revision_id: int, confirm: tuple[str, ...]) -> None:
    try:
        result = service.publish(revision_id, confirm)
    except CairnError as error:
        _fail(error)
    for step in result.get("steps", []):
        click.echo(f"  - {step.get('kind')}: {step.get('message', '')}")
    click.echo(f"Published revision {result['revision']['number']}.")


@click.command("publish")
@click.argument("app_key")
@click.option("--revision", "revision_number", type=int, default=None, help="Default: the newest draft.")
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@click.option("--confirm-drop", "confirm", multiple=True, help="entity.field whose column may be dropped")
@with_appcontext
def publish(app_key: str, revision_number: int | None, workspace_key: str, confirm: tuple[str, ...]) -> None:
    """Publishes a revision of an app (plans and applies the schema change)."""
    from runtime.apps import AppService

    platform = _platform()
    with platform.session() as session:
        service = AppService(_admin_context(platform, session, workspace_key))
        try:
            app = service.app(app_key)
        except CairnError as error:
            _fail(error)
        revisions = service.repo.revisions(app.id)
        chosen = [r for r in revisions if (r.number == revision_number if revision_number else r.status == "draft")]
        if not chosen:
            raise click.ClickException("No such draft revision.")
        _publish(service, chosen[0].id, confirm)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
@click.option("--workspace", "workspace_key", default=None, help="Only this workspace (default: all).")
@with_appcontext
def purge(dry_run: bool, workspace_key: str | None) -> None:
    """Deletes history past each workspace's retention (the sweeps do this hourly)."""
    from runtime.retention import purge_all

    platform = _platform()
    with platform.session() as session:
        workspace_id = None
        if workspace_key is not None:
            workspace_id = session.scalar(sa.select(Workspace.id).where(Workspace.key == workspace_key))
            if workspace_id is None:
                raise click.ClickException(f"No workspace {workspace_key!r}.")
        keys = {ws_id: key for ws_id, key in session.execute(sa.select(Workspace.id, Workspace.key))}
        reports = purge_all(session, platform.clock.now(), dry_run=dry_run, workspace_id=workspace_id)
    verb = "would delete" if dry_run else "deleted"
    for ws_id, report in reports.items():
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(report.counts.items()) if count) or "nothing"
        more = "" if report.finished else " (more left for the next run)"
        click.echo(f"{keys.get(ws_id, ws_id)}: {verb} {counts}{more}")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Serves Cairn (with the embedded worker unless REDIS_URL is set)."""
    from werkzeug.serving import run_simple

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    platform = _platform()
    worker = _start_worker(platform)
    _print_login(platform.settings.instance_path / CREDENTIALS_FILE)
    click.echo(f"Cairn is serving on http://{host}:{port}/ (Ctrl+C to stop)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if worker is not None:
            worker.stop()


def _start_worker(platform: Platform) -> Any:
    """The in-process worker and scheduler (embedded mode), if automation is installed."""
    if platform.settings.redis_url or not platform.settings.embedded_worker:
        return None
    try:
        from runtime.automation.embedded import EmbeddedWorker
    except ImportError:
        return None
    worker = EmbeddedWorker(platform)
    worker.start()
    click.echo("Embedded worker started (no REDIS_URL: the outbox is drained in-process).")
    return worker


@click.command("export-workspace")
@click.argument("key")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (a .zip file).")
@click.option("--include-password-hashes", is_flag=True, default=False,
              help="Also export the users' password hashes (off: imported users set a new password).")
@with_appcontext
def export_workspace(key: str, out: Path, include_password_hashes: bool) -> None:
    """Exports workspace KEY (apps, records, files, history) to a versioned archive."""
    from runtime.portability import export_workspace as export

    try:
        report = export(_platform(), key, out, include_password_hashes=include_password_hashes)
    except CairnError as error:
        _fail(error)
    click.echo(f"Exported workspace {key!r} to {out}:")
    for name, count in sorted(report.counts.items()):
        click.echo(f"  {name}: {count}")


@click.command("import-workspace")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key", default=None, help="Import under this workspace key (default: the archive's).")
@with_appcontext
def import_workspace(archive: Path, key: str | None) -> None:
    """Imports a workspace archive made by export-workspace (checked before anything is written)."""
    from runtime.portability import import_workspace as do_import

    platform = _platform()
    upgrade(platform.engine)
    try:
        report = do_import(platform, archive, key=key)
    except CairnError as error:
        _fail(error)
    click.echo(f"Imported workspace {report.workspace_key!r} (id {report.workspace_id}):")
    for name, count in sorted(report.counts.items()):
        click.echo(f"  {name}: {count}")


@click.command("reset-password")
@click.argument("username")
@click.option("--workspace", "workspace_key", default="default", show_default=True)
@with_appcontext
def reset_password(username: str, workspace_key: str) -> None:
    """Gives a user a generated password (printed once), e.g. after import-workspace."""
    from runtime.people import PeopleService

    platform = _platform()
    with platform.session() as session:
        ctx = _admin_context(platform, session, workspace_key)
        user = session.scalars(
            sa.select(User).where(User.workspace_id == ctx.workspace_id, User.username == username)
        ).one_or_none()
        if user is None:
            raise click.ClickException(f"No user {username!r} in workspace {workspace_key!r}.")
        try:
            password = PeopleService(ctx).reset_password(user.id)
        except CairnError as error:
            _fail(error)
        click.echo(f"New password of {username}: {password}")


_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


@click.command("worker", context_settings=_PASS_THROUGH)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Runs a Celery worker, restarted whenever it exits (extra arguments go to Celery)."""
    from runtime.supervise import celery_command, supervise

    sys.exit(supervise(celery_command("worker", celery_args)))


@click.command("beat", context_settings=_PASS_THROUGH)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Runs Celery beat (run exactly one), restarted whenever it exits."""
    from runtime.supervise import celery_command, supervise

    sys.exit(supervise(celery_command("beat", celery_args)))


@click.command("relay", context_settings=_PASS_THROUGH)
@click.argument("relay_args", nargs=-1, type=click.UNPROCESSED)
def relay(relay_args: tuple[str, ...]) -> None:
    """Runs a dedicated outbox relay, restarted whenever it exits."""
    from runtime.supervise import relay_command, supervise

    sys.exit(supervise(relay_command(relay_args)))


@click.command("supervise", context_settings=_PASS_THROUGH)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def supervise_command(command: tuple[str, ...]) -> None:
    """Runs COMMAND and starts it again (with backoff) whenever it exits."""
    from runtime.supervise import supervise

    sys.exit(supervise(list(command)))


def _create_app() -> Flask:
    from web import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, add_default_commands=False, help="Cairn: a low-code app builder.")
for command in (init_db, create_workspace, create_user, create_token, import_app, publish, purge, run,
                worker, beat, relay, supervise_command, export_workspace, import_workspace,
                reset_password):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``cairn`` script."""
    cli.main(args=sys.argv[1:], prog_name="cairn")


def init_app(app: Flask) -> None:
    """Makes the commands available as ``flask --app web <command>`` too."""
    for command in (init_db, create_workspace, create_user, create_token, import_app, publish, purge,
                    export_workspace, import_workspace, reset_password):
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
