"""The database engine: an in-memory SQLite database is refused with words that say why."""

import pytest

from service.db import create_db_engine


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused_naming_what_to_use(url):
    with pytest.raises(ValueError, match="in-memory SQLite database") as refused:
        create_db_engine(url)
    assert "name a file" in str(refused.value)


def test_a_sqlite_file_gets_an_engine(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'labelaudit.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
