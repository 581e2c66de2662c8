"""Insert rows of several tables in one round trip to the database.

Creating a course writes four tables (the course, its lab groups, its operation and that
operation's steps). Through the ORM that is four INSERTs, each compiled anew from the model on
every call: most of what ``POST /courses`` cost, in Python and in round trips. ``rows_insert``
writes the same model instances with one statement on PostgreSQL (data-modifying ``WITH``
clauses, executed once each and in full whatever the outer query reads), and falls back to one
``bulk_create`` per batch elsewhere (SQLite cannot modify data in ``WITH``).

The rows are the model's own: instances built as usual (field defaults applied by the model),
columns and values taken from the model's fields at call time, values converted by each field as
a save would. What it writes: plain concrete fields and foreign keys to a primary key, of models
without a parent model; anything else (a generated field, an expression, a database default left
to the database, multi-table inheritance, a foreign key to another field) is refused with
``RowsInsertError`` rather than written differently from the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import AutoField, BigAutoField, Model, SmallAutoField
from django.db.models.fields.related import ForeignKey

AUTO_KEYS = (AutoField, BigAutoField, SmallAutoField)


class RowsInsertError(ValueError):
    """The batches cannot be written as asked (a programming error, not bad input)."""


def rows_insert(*batches: Sequence[Model]) -> None:
    """Insert each batch's instances (one model per batch), batches in order, in one statement.

    A row may point (foreign key) at an instance of an earlier batch that has no primary key yet
    (an auto-increment one): that instance must be alone in its batch, and the row takes its key
    in the same statement. Afterwards every instance has its primary key and its foreign keys'
    values and counts as saved, as after ``bulk_create``.

    Raises what the INSERT raises (``IntegrityError`` for a unique value already taken), and
    nothing is written then; to go on using the connection after that, call it inside
    ``transaction.atomic()`` (outside a block the statement is a transaction of its own).
    """
    batches = tuple(batch for batch in batches if batch)
    if not batches:
        return
    for batch in batches:
        if len({type(obj) for obj in batch}) != 1:
            raise RowsInsertError("One model per batch.")
    alias = router.db_for_write(type(batches[0][0]))
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=alias, savepoint=False):
            for batch in batches:
                type(batch[0])._default_manager.using(alias).bulk_create(batch)
        return
    statement, params, auto_batches = _statement(batches, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        returned = cursor.fetchall()
    # From here on the rows are written (committed, outside a block): only keys are copied back.
    keys: dict[int, list[Any]] = {}
    for index, key in returned:
        keys.setdefault(index, []).append(key)
    for index in auto_batches:
        # In the order of the rows given, as PostgreSQL returns them (what bulk_create relies on).
        for obj, key in zip(batches[index], keys.get(index, []), strict=True):
            obj.pk = key
    for batch in batches:
        for obj in batch:
            for field in obj._meta.concrete_fields:
                # A key made in the statement, as a save would copy it from the related object.
                if isinstance(field, ForeignKey) and field.name in obj._state.fields_cache:
                    target = obj._state.fields_cache[field.name]
                    setattr(obj, field.attname, target.pk if target is not None else None)
            obj._state.adding = False
            obj._state.db = alias


class _Sql(str):
    """A cell written as SQL, not sent as a parameter."""


def _statement(batches: tuple[Sequence[Model], ...], connection: Any) -> tuple[str, list, list]:
    """``WITH b0 AS (INSERT ... RETURNING pk), b1 AS (...) SELECT index, pk FROM b<auto>...``.

    A batch of several rows is written as Django's own bulk insert is on PostgreSQL, from one
    array per column (``unnest``): few parameters whatever the number of rows. With Django's
    client-side binding, psycopg caches its conversion of a statement's text only for a
    statement of at most 50 parameters; converting one anew (dozens of parameters, one per cell)
    cost more than the INSERTs' planning.
    """
    quote = connection.ops.quote_name
    alone: dict[int, int] = {}  # id(instance) -> its batch, for a keyless instance alone in it
    clauses: list[str] = []
    params: list[Any] = []
    auto_batches: list[int] = []
    for index, batch in enumerate(batches):
        meta = batch[0]._meta
        pk = meta.pk
        assert pk is not None  # every concrete model has one
        if meta.parents:
            raise RowsInsertError(f"{meta.label}: a model with a parent model is not written.")
        auto = batch[0].pk is None
        if auto != all(obj.pk is None for obj in batch):
            raise RowsInsertError(f"{meta.label}: every row or none needs its key made.")
        if auto and not isinstance(pk, AUTO_KEYS):
            raise RowsInsertError(f"{meta.label}: no key given and the database makes none.")
        fields = [field for field in meta.concrete_fields if not (auto and field is pk)]
        # Each row's cells: a parameter's value, or the SQL of a value made in this statement.
        rows = [[_cell(obj, field, alone, connection) for field in fields] for obj in batch]
        columns = ", ".join(quote(field.column) for field in fields)
        clauses.append(
            f"b{index} AS (INSERT INTO {quote(meta.db_table)} ({columns}) "
            f"{_rows_sql(fields, rows, params, connection)} RETURNING {quote(pk.column)})"
        )
        if auto:
            auto_batches.append(index)
            if len(batch) == 1:
                alone[id(batch[0])] = index
    selects = [
        f"SELECT {index}, {quote(batches[index][0]._meta.pk.column)} FROM b{index}"
        for index in auto_batches
    ] or ["SELECT NULL, NULL WHERE false"]
    return f"WITH {', '.join(clauses)} {' UNION ALL '.join(selects)}", params, auto_batches


def _cell(obj: Model, field: Any, alone: dict[int, int], connection: Any) -> Any:
    label = f"{obj._meta.label}.{field.name}"
    if getattr(field, "generated", False):
        raise RowsInsertError(f"{label}: a generated field is not written.")
    if isinstance(field, ForeignKey):
        if field.target_field is not field.related_model._meta.pk:
            raise RowsInsertError(f"{label}: only a foreign key to a primary key is written.")
        target = obj._state.fields_cache.get(field.name)
        if target is not None and target.pk is None:
            if id(target) not in alone:
                raise RowsInsertError(
                    f"{label}: points at an unsaved instance that no earlier batch holds alone."
                )
            pk_column = connection.ops.quote_name(target._meta.pk.column)
            return _Sql(f"(SELECT {pk_column} FROM b{alone[id(target)]})")
        if target is not None:
            setattr(obj, field.attname, target.pk)
    value = field.pre_save(obj, add=True)
    if hasattr(value, "resolve_expression"):  # F(), a default left to the database, ...
        raise RowsInsertError(f"{label}: plain values only.")
    return field.get_db_prep_save(value, connection)


def _rows_sql(fields: list, rows: list[list[Any]], params: list[Any], connection: Any) -> str:
    """``VALUES (...)`` for one row (or rows unnest cannot carry), else ``SELECT ... unnest``."""
    columns = list(zip(*rows, strict=True))
    # unnest carries a column of values of the database's standard types (as Django's own bulk
    # insert decides it), or one and the same key made in the statement (an operation's in each
    # of its steps); and at least one column of values.
    unnestable = (
        len(rows) > 1
        and all(
            not hasattr(field, "get_placeholder")
            and (field.target_field if field.is_relation else field).get_internal_type()
            in connection.data_types
            for field in fields
        )
        and all(
            not any(isinstance(cell, _Sql) for cell in column)
            or (all(isinstance(cell, _Sql) for cell in column) and len(set(column)) == 1)
            for column in columns
        )
        and not all(isinstance(column[0], _Sql) for column in columns)
    )
    if not unnestable:
        written = []
        for row in rows:
            cells = []
            for cell in row:
                if isinstance(cell, _Sql):
                    cells.append(str(cell))
                else:
                    cells.append("%s")
                    params.append(cell)
            written.append(f"({', '.join(cells)})")
        return f"VALUES {', '.join(written)}"
    selected, arrays, names = [], [], []
    for position, (field, column) in enumerate(zip(fields, columns, strict=True)):
        if isinstance(column[0], _Sql):
            selected.append(str(column[0]))
            continue
        # Without the type's length (varchar, not varchar(100)): nothing is cut on the way.
        arrays.append(f"%s::{field.db_type(connection).split('(')[0]}[]")
        params.append(list(column))
        names.append(f"c{position}")
        selected.append(f"u.c{position}")
    return f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({', '.join(names)})"
