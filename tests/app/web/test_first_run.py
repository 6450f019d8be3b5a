"""``trapline up``'s first admin gets a web password once; ``admin set-password`` sets one."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from trapline.cli import app
from trapline.db.engine import Database
from trapline.services.core import accounts
from trapline.services.photos import bootstrap


def test_first_admin_password_is_made_once_and_saved_private(
    app_db: Database, tmp_path: Path
) -> None:
    data = tmp_path / "first-run"
    first = bootstrap.ensure_admin(app_db, data)
    assert first.new_password
    assert first.new_token
    assert first.password_file == data / "admin-password"
    assert first.password_file.read_text().strip() == first.new_password
    assert stat.S_IMODE(first.password_file.stat().st_mode) == 0o600
    signed = accounts.sign_in(
        app_db, first.user.email, first.new_password, lifetime=timedelta(minutes=5)
    )
    assert signed.user.is_admin

    again = bootstrap.ensure_admin(app_db, data)
    assert again.new_password is None
    assert again.new_token is None
    assert again.password_file is not None
    assert again.password_file.read_text().strip() == first.new_password


def test_set_password_command(database_url: str, tmp_path: Path, app_db: Database) -> None:
    made = bootstrap.ensure_admin(app_db, tmp_path / "d")
    runner = CliRunner()
    args = ["admin", "set-password", "--email", made.user.email, "--database-url", database_url]
    printed = runner.invoke(app, args)
    assert printed.exit_code == 0, printed.output
    password = printed.stdout.strip().splitlines()[-1]
    assert accounts.sign_in(app_db, made.user.email, password, lifetime=timedelta(minutes=1))

    chosen = runner.invoke(app, [*args, "--password-stdin"], input="my chosen passphrase\n")
    assert chosen.exit_code == 0, chosen.output
    assert "my chosen passphrase" not in chosen.stdout
    assert accounts.sign_in(
        app_db, made.user.email, "my chosen passphrase", lifetime=timedelta(minutes=1)
    )
    short = runner.invoke(app, [*args, "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "10 to 256" in short.output
