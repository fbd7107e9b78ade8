"""A Keeper's rows go through the driver as they are: only tables whose values need no
conversion are written that way (on either database), and SQLite's statement names every
column."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table
from sqlalchemy.dialects import postgresql

from store.backend_sqlite import _insert_statement
from store.backends import driver_columns
from store.schema import merkle_subtrees


def test_the_trees_rows_are_inserted_by_column_name() -> None:
    assert _insert_statement(merkle_subtrees) == (
        "INSERT INTO merkle_subtrees (level, idx, hash) VALUES (:level, :idx, :hash)"
    )


def test_a_table_whose_values_need_converting_is_refused() -> None:
    table = Table(
        "stamped", MetaData(), Column("id", Integer, primary_key=True), Column("at", JSON)
    )
    with pytest.raises(TypeError, match=r"stamped\.at"):
        _insert_statement(table)
    with pytest.raises(TypeError, match=r"stamped\.at"):
        driver_columns(table, postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]


def test_the_trees_rows_are_copied_by_column_name_on_postgresql() -> None:
    assert driver_columns(merkle_subtrees, postgresql.asyncpg.dialect()) == (  # type: ignore[no-untyped-call]
        "level",
        "idx",
        "hash",
    )
