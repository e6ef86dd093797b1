"""`usergen add-field` on generated projects: what it writes, and what it refuses to touch.

These run the command line on real projects, without running the projects' own tests (see
test_add_field_apps.py for that).
"""

import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers import changed_paths, new_project, tree_hashes, usergen


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new project with one field added."""
    project = new_project(tmp_path_factory.mktemp("base"))
    usergen("add-field", "nickname", "str", "--max-length", "50", "--unique", cwd=project)
    return project


@pytest.fixture
def project(base: Path, tmp_path: Path) -> Path:
    """A copy of `base` of this test's own, whose UserTable has a method, a property and a
    plain attribute of the user's."""
    copy = Path(shutil.copytree(base, tmp_path / "shop", symlinks=True))
    table = copy / "shop" / "users" / "table.py"
    table.write_text(
        table.read_text().replace(
            '    """The user table of this app: add your own columns here."""\n',
            '    """The user table of this app: add your own columns here."""\n\n'
            '    tagline = "hello"\n\n'
            "    def display_name(self) -> str:\n"
            '        return self.email.split("@")[0]\n\n'
            "    @property\n"
            "    def initials(self) -> str:\n"
            "        return self.email[:2]\n",
        )
    )
    schemas = copy / "shop" / "users" / "schemas.py"
    schemas.write_text(
        schemas.read_text() + "\n\nclass UserPublic(User):\n"
        '    """What other users may see of one."""\n\n'
        "    def badge(self) -> str:\n"
        "        return self.email[:1]\n"
        "\n\nclass Page(BaseModel):\n"
        '    """Not a user class: its names are free for user fields."""\n\n'
        "    cursor: str | None = None\n"
    )
    return copy


BAD_INPUT = {
    "invalid identifier": (["nick-name", "str"], "invalid field name 'nick-name'"),
    "python keyword": (["class", "str"], "Python keyword"),
    "built-in field": (["email", "str"], "it is built in"),
    "field added before": (["nickname", "text"], "already has a field 'nickname'"),
    "unknown type": (["age", "number"], "unknown field type 'number'"),
    "default of the wrong type": (["age", "int", "--default", "eighteen"], "not a valid int"),
    "datetime default without zone": (
        ["since", "datetime", "--default", "2024-05-17T10:00"],
        "give a time zone",
    ),
    "required read-only without default": (
        ["age", "int", "--required", "--read-only"],
        "required read-only field needs --default",
    ),
    "bool unique": (["admin", "bool", "--unique"], "a bool field cannot be --unique"),
    "backfill of an optional field": (
        ["handle", "str", "--backfill-from", "email"],
        "has nothing to do",
    ),
    "method of the user's": (["display_name", "str"], "it is a method of UserTable"),
    "property of the user's": (["initials", "str"], "it is a property of UserTable"),
    "plain attribute of the user's": (["tagline", "str"], "already has a field 'tagline'"),
    "method of the user's own user class": (["badge", "str"], "it is a method of UserPublic"),
    "attribute of the generated models": (
        ["current_password", "str"],
        "already has a field 'current_password'",
    ),
    "index on text": (["bio", "text", "--index"], "cannot be --unique or --index"),
    "option of another type": (["age", "int", "--max-length", "5"], "applies to str"),
}


@pytest.mark.parametrize(("args", "message"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_changes_nothing(project: Path, args: list[str], message: str) -> None:
    before = tree_hashes(project)

    result = usergen("add-field", *args, cwd=project, check=False)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert tree_hashes(project) == before


def test_names_of_classes_that_are_not_user_classes_are_free(project: Path) -> None:
    usergen("add-field", "cursor", "str", cwd=project)

    assert "cursor" in (project / "shop/users/table.py").read_text()
    assert usergen("fields", cwd=project).stdout.splitlines()[-1].startswith("cursor ")


def damage_answers(project: Path, change: str) -> None:
    answers_file = project / ".copier-answers.yml"
    if change == "missing":
        answers_file.unlink()
        return
    if change == "not yaml":
        answers_file.write_text("fields: [unclosed\n")
        return
    answers = yaml.safe_load(answers_file.read_text())
    if change == "no package":
        del answers["package_name"]
    elif change == "package is a path":
        answers["package_name"] = "../elsewhere"
    elif change == "bad field":
        answers["fields"][0]["type"] = "string"
    elif change == "unknown template version":
        answers["template_version"] = "0.0.9"
    answers_file.write_text(yaml.safe_dump(answers))


DAMAGE = {
    "missing": "is not inside a project generated by usergen",
    "not yaml": "is damaged: it is not valid YAML",
    "no package": "is damaged: package_name is missing",
    "package is a path": "is damaged: package_name '../elsewhere' is not a Python name",
    "bad field": "the recorded field 'nickname' is damaged",
    "unknown template version": "template version 0.0.9 is not one this usergen knows",
}


@pytest.mark.parametrize(("change", "message"), DAMAGE.items(), ids=DAMAGE.keys())
def test_missing_or_damaged_answers_change_nothing(
    project: Path, change: str, message: str
) -> None:
    damage_answers(project, change)
    before = tree_hashes(project)

    result = usergen("add-field", "age", "int", cwd=project, check=False)

    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert tree_hashes(project) == before


def test_outside_a_project_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a project")
    before = tree_hashes(tmp_path)

    result = usergen("add-field", "age", "int", "--path", str(tmp_path), cwd=tmp_path, check=False)

    assert result.returncode == 1
    assert "not inside a project generated by usergen" in result.stderr
    assert tree_hashes(tmp_path) == before


def test_a_hand_written_column_counts_as_existing(project: Path) -> None:
    table = project / "shop" / "users" / "table.py"
    table.write_text(
        table.read_text().replace(
            '    """The user table of this app: add your own columns here."""\n',
            '    """The user table of this app: add your own columns here."""\n\n'
            "    phone: Mapped[str | None] = mapped_column(sa.String(32))\n",
        )
    )
    before = tree_hashes(project)

    result = usergen("add-field", "phone", "str", cwd=project, check=False)

    assert result.returncode == 2
    assert "already has a field 'phone'" in result.stderr
    assert tree_hashes(project) == before


def test_several_migration_heads_are_refused(project: Path) -> None:
    (project / "migrations" / "versions" / "9f1c_branch.py").write_text(
        'revision = "9f1c"\ndown_revision = "0001"\n'
    )
    before = tree_hashes(project)

    result = usergen("add-field", "age", "int", cwd=project, check=False)

    assert result.returncode == 1
    assert "several heads" in result.stderr
    assert tree_hashes(project) == before


def test_dry_run_prints_the_diff_and_changes_nothing(project: Path) -> None:
    before = tree_hashes(project)

    result = usergen("add-field", "age", "int", "--default", "18", "--dry-run", cwd=project)

    assert tree_hashes(project) == before
    diff = result.stdout
    assert "--- a/shop/users/table.py\n+++ b/shop/users/table.py\n" in diff
    assert '+    age: Mapped[int | None] = mapped_column(sa.Integer(), server_default="18")' in diff
    assert "+    age: int | None = Field(default=18, ge=-(2**31), le=2**31 - 1)" in diff
    assert "--- /dev/null\n+++ b/migrations/versions/0003_add_age_to_user.py\n" in diff
    assert '+down_revision: str | None = "0002"' in diff
    assert "+++ b/.copier-answers.yml" in diff
    assert "+++ b/tests/test_user_fields.py" in diff
    assert "nothing was changed" in result.stderr


def test_a_conflicting_edit_is_reported_and_nothing_changes(project: Path) -> None:
    schemas = project / "shop" / "users" / "schemas.py"
    nickname = (
        "    nickname: str | None = Field(default=None, max_length=50, pattern=NO_NUL_CHARACTER)\n"
    )
    assert nickname in schemas.read_text()
    schemas.write_text(
        schemas.read_text().replace(
            nickname + "    password: str\n",
            nickname + "    password: str  # checked by the manager\n",
        )
    )
    before = tree_hashes(project)
    edited_line = (
        schemas.read_text().split("\n").index("    password: str  # checked by the manager")
    )

    result = usergen("add-field", "age", "int", cwd=project, check=False)

    assert result.returncode == 1
    assert "conflicts with your edits in 1 file(s); nothing was changed" in result.stderr
    assert "shop/users/schemas.py: your edits and the change touch the same lines" in result.stderr
    assert f"line {edited_line + 1} of your file:" in result.stderr
    assert "yours |     password: str  # checked by the manager" in result.stderr
    assert "new   |     age: int | None = Field(" in result.stderr
    assert tree_hashes(project) == before

    inline = usergen("add-field", "age", "int", "--conflict", "inline", cwd=project, check=False)

    assert inline.returncode == 1
    text = schemas.read_text()
    marker_line = text.split("\n").index("<<<<<<< yours") + 1
    assert f"shop/users/schemas.py: line {marker_line}" in inline.stderr
    assert "<<<<<<< yours\n    password: str  # checked by the manager\n=======\n" in text
    assert ">>>>>>> usergen add-field age\n" in text
    assert (project / "migrations/versions/0003_add_age_to_user.py").is_file()
    assert "age: Mapped[int | None]" in (project / "shop/users/table.py").read_text()


def test_fields_added_in_a_row_chain_their_migrations(project: Path) -> None:
    for args in (["age", "int"], ["joined", "date"], ["tier", "choices", "--choices", "a,b"]):
        usergen("add-field", *args, cwd=project)

    versions = project / "migrations" / "versions"
    assert sorted(path.name for path in versions.glob("*.py")) == [
        "0001_create_user_tables.py",
        "0002_add_nickname_to_user.py",
        "0003_add_age_to_user.py",
        "0004_add_joined_to_user.py",
        "0005_add_tier_to_user.py",
    ]
    assert (
        'down_revision: str | None = "0004"' in (versions / "0005_add_tier_to_user.py").read_text()
    )
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert [field["name"] for field in answers["fields"]] == ["nickname", "age", "joined", "tier"]
    again = usergen("add-field", "age", "int", cwd=project, check=False)
    assert "already has a field 'age'" in again.stderr


ADD_AGE_WRITES = 8  # the files `add-field age int` writes in `project`


@pytest.mark.parametrize("failing", range(1, ADD_AGE_WRITES + 1))
def test_a_write_failing_half_way_leaves_the_project_as_it_was(
    project: Path, failing: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a dead file system at the N-th write, for every N: nothing changed."""
    from usergen import add_field, files
    from usergen.fields import FieldOptions

    before = tree_hashes(project)
    write = files._write_atomic
    calls: list[Path] = []

    def fail_at_n(path: Path, content: bytes, mode: int | None) -> None:
        calls.append(path)
        if len(calls) == failing:
            raise OSError(28, "No space left on device")
        write(path, content, mode)

    monkeypatch.setattr(files, "_write_atomic", fail_at_n)
    with pytest.raises(OSError, match="No space left"):
        add_field.add_field(project, "age", "int", FieldOptions())

    assert len(calls) >= failing
    assert tree_hashes(project) == before


@pytest.mark.parametrize("interrupted", range(1, ADD_AGE_WRITES + 1))
def test_ctrl_c_during_the_writes_finishes_them_first(
    project: Path, interrupted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at the N-th write, for every N: the writes complete, then the interrupt."""
    import os
    import signal

    from usergen import add_field, files
    from usergen.fields import FieldOptions

    before = tree_hashes(project)
    write = files._write_atomic
    calls: list[Path] = []

    def interrupt_at_n(path: Path, content: bytes, mode: int | None) -> None:
        calls.append(path)
        if len(calls) == interrupted:
            os.kill(os.getpid(), signal.SIGINT)
        write(path, content, mode)

    monkeypatch.setattr(files, "_write_atomic", interrupt_at_n)
    with pytest.raises(KeyboardInterrupt):
        add_field.add_field(project, "age", "int", FieldOptions())

    assert len(calls) == ADD_AGE_WRITES
    assert changed_paths(before, tree_hashes(project)) == {
        ".copier-answers.yml",
        "migrations/versions/0003_add_age_to_user.py",
        "shop/users/pages/forms.py",
        "shop/users/schemas.py",
        "shop/users/table.py",
        "tests/helpers.py",
        "tests/test_adapter.py",
        "tests/test_user_fields.py",
    }


def test_a_required_unique_field_must_be_sent_and_its_migration_guards_existing_users(
    project: Path,
) -> None:
    usergen(
        "add-field", "username", "str", "--max-length", "40", "--unique", "--required", cwd=project
    )

    schemas = (project / "shop/users/schemas.py").read_text()
    create = schemas[schemas.index("class UserCreate") : schemas.index("class UserUpdate")]
    assert "    username: str = Field(max_length=40, pattern=NO_NUL_CHARACTER)\n" in create
    table = (project / "shop/users/table.py").read_text()
    assert "username: Mapped[str] = mapped_column(sa.String(40), unique=True, index=True)" in table
    migration = (project / "migrations/versions/0003_add_username_to_user.py").read_text()
    upgrade = migration[migration.index("def upgrade") : migration.index("def downgrade")]
    assert upgrade.index("no_existing_users()") < upgrade.index("batch.add_column")
    assert 'sa.Column("username", sa.String(40), nullable=True)' in upgrade
    assert 'batch.alter_column("username", existing_type=sa.String(40), nullable=False)' in upgrade
    assert "Nothing was changed." in migration
    helpers = (project / "tests/helpers.py").read_text()
    assert '"username": distinct_text(email)[:40],' in helpers
