"""Database helpers the ORM does not offer fast enough on hot paths."""

import operator
import re

from django.db import connections, router
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


def _placeholder(values: list) -> str:
    """Arrays go in psycopg's binary format (several times cheaper to build than the text one, which escapes
    every element); an array of only NULLs has no element type to take that format from, so it goes as text."""
    return "%b" if any(value is not None for value in values) else "%s"


def _binding_cursor(connection):
    """A cursor that sends parameters to PostgreSQL separately from the SQL (server-side binding), in the
    connection's transaction and logged like any other query. Django's default psycopg cursor binds on the
    client, writing every array out as quoted text, which is where most of the time of these statements
    went."""
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def array_type(field, connection) -> str:
    """The element type an UNNEST array of `field`'s column is cast to: the column's base type, without its
    modifier (`varchar`, not `varchar(20)`; `numeric`, not `numeric(12, 2)`). An explicit cast to varchar(n)
    truncates an over-long string without a word; with the base type the value reaches the column by assignment,
    which raises on it exactly as an ordinary INSERT or UPDATE does (and numeric keeps rounding to the column's
    scale and refusing what overflows it). Cached per field and database vendor (it is asked for every column
    of every bulk statement)."""
    key = (field, connection.vendor)
    kind = _ARRAY_TYPES.get(key)
    if kind is None:
        kind = _ARRAY_TYPES[key] = re.sub(r"\(.*?\)", "", field.db_type(connection)).strip()
    return kind


_ARRAY_TYPES: dict = {}


# Fields whose Python value is already what psycopg sends (str, int, bool, UUID, or the key a ForeignKey holds).
# Every other field (decimals, dates, JSON…) goes through get_db_prep_save, as bulk_create would.
AS_IS = {
    "CharField", "TextField", "SlugField", "EmailField", "BooleanField", "UUIDField", "ForeignKey", "OneToOneField",
    "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}  # fmt: skip


def _column(field, objs: list, connection, *, add: bool) -> list:
    """One column's values, prepared for the database. auto_now (and auto_now_add on insert) stamps the whole
    batch with one instant, set on the objects as save() would."""
    if getattr(field, "auto_now", False) or (add and getattr(field, "auto_now_add", False)):
        now = field.pre_save(objs[0], add)
        for obj in objs:
            setattr(obj, field.attname, now)
        return [field.get_db_prep_save(now, connection)] * len(objs)
    attname = field.attname
    if field.get_internal_type() in AS_IS:
        return [getattr(obj, attname) for obj in objs]
    return [field.get_db_prep_save(getattr(obj, attname), connection) for obj in objs]


_BLUEPRINTS: dict = {}


def _blueprint(model) -> tuple:
    """Per model: the defaults every new instance starts from (computed once), the fields whose default is
    computed per instance (a callable, or a database default), and the names `build` accepts."""
    blueprint = _BLUEPRINTS.get(model)
    if blueprint is None:
        static, dynamic, relations = {}, [], set()
        for field in model._meta.concrete_fields:
            if field.is_relation:
                relations.add(field.name)
            if (field.has_default() and callable(field.default)) or field.has_db_default():
                dynamic.append((field.attname, field.get_default))
            else:
                static[field.attname] = field.get_default()
        accepted = frozenset(static) | {attname for attname, _ in dynamic} | relations
        blueprint = _BLUEPRINTS[model] = (static, tuple(dynamic), frozenset(relations), accepted)
    return blueprint


def build(model, /, **values):
    """`model(**values)` for the hot paths that build thousands of unsaved rows (order intents, broker orders,
    fills, order events): the same instance at about a fifth of the cost, without Model.__init__'s generic
    walk over every field. Every field starts at its default (a callable one called per instance); `values`
    are field attnames (`instrument_id`) or forward relations (`order`), a related object set through its
    descriptor as __init__ sets it (the id copied, the object cached). Any other name, or a model that has
    pre_init / post_init receivers, goes through model(**values)."""
    static, dynamic, relations, accepted = _blueprint(model)
    if pre_init.has_listeners(model) or post_init.has_listeners(model) or not values.keys() <= accepted:
        return model(**values)
    obj = object.__new__(model)
    obj._state = ModelState()
    fields = obj.__dict__
    fields.update(static)
    for attname, default in dynamic:
        fields[attname] = default()
    for name, value in values.items():
        if name in relations:
            setattr(obj, name, value)
        else:
            fields[name] = value
    return obj


def _postgresql(model):
    alias = router.db_for_write(model)
    connection = connections[alias]
    return alias, connection, connection.vendor == "postgresql"


def bulk_insert(objs: list, *, ignore_conflicts: bool = False) -> int | None:
    """Insert every object, like QuerySet.bulk_create, in one statement.

    On PostgreSQL this is one `INSERT … SELECT FROM UNNEST(…)` with a typed array per column, a third of the
    Python cost of bulk_create for thousands of rows. Auto-increment primary keys are left to the database and
    not read back (no caller here needs them); UUID keys are the objects' own. Other databases use
    bulk_create. Returns how many rows were inserted (with ignore_conflicts, those that did not conflict), or
    None where the database does not say."""
    if not objs:
        return 0
    model = type(objs[0])
    alias, connection, postgresql = _postgresql(model)
    if not postgresql:
        model.objects.using(alias).bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return None if ignore_conflicts else len(objs)
    sql, arrays = _insert_sql(objs, connection, " ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    with _binding_cursor(connection) as cursor:
        cursor.execute(sql, arrays)
        inserted = cursor.rowcount
    _saved(objs, alias)
    return inserted


def _saved(objs, alias) -> None:
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias


def _insert_sql(objs: list, connection, suffix: str) -> tuple[str, list]:
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.get_internal_type().endswith("AutoField"))]
    arrays = [_column(field, objs, connection, add=True) for field in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ("
        + ", ".join(quote(field.column) for field in fields)
        + ") SELECT * FROM UNNEST("
        + ", ".join(
            f"{_placeholder(values)}::{array_type(field, connection)}[]"
            for field, values in zip(fields, arrays, strict=True)
        )
        + ")"
        + suffix
    )
    return sql, arrays


def bulk_insert_new(objs: list, *, unique: list[str]) -> list:
    """Insert the objects that do not conflict on the unique index of the `unique` columns (attnames) and
    return those inserted, in one statement on PostgreSQL (`ON CONFLICT (…) DO NOTHING RETURNING …`). A
    conflict on any other unique index still raises. Elsewhere: one query for the rows already there, then
    bulk_create of the others."""
    if not objs:
        return []
    model = type(objs[0])
    alias, connection, postgresql = _postgresql(model)
    meta = model._meta
    fields = [next(f for f in meta.concrete_fields if f.attname == name) for name in unique]
    key = operator.attrgetter(*unique) if len(unique) > 1 else lambda obj: (getattr(obj, unique[0]),)
    if not postgresql:
        there = set(map(key, rows_for_keys(model, unique, list(dict.fromkeys(map(key, objs))))))
        new = [obj for obj in objs if key(obj) not in there]
        model.objects.using(alias).bulk_create(new)
        return new
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql, arrays = _insert_sql(objs, connection, f" ON CONFLICT ({columns}) DO NOTHING RETURNING {columns}")
    with _binding_cursor(connection) as cursor:
        cursor.execute(sql, arrays)
        inserted = {tuple(f.to_python(v) for f, v in zip(fields, row, strict=True)) for row in cursor.fetchall()}
    new = [obj for obj in objs if key(obj) in inserted]
    _saved(new, alias)
    return new


def rows_locked_or_created(objs: list, *, unique: list[str]) -> list:
    """The rows of the objects' unique keys (`unique`: the attnames of a unique index), locked FOR UPDATE in
    the order given; each created from its object where it does not exist yet. Callers sort the objects, so
    concurrent lockers take turns instead of deadlocking. On PostgreSQL one statement (`INSERT … ON CONFLICT
    (…) DO UPDATE … RETURNING`, which locks the existing rows and returns both kinds); elsewhere an insert
    that ignores conflicts, then a locked read."""
    if not objs:
        return []
    model = type(objs[0])
    alias, connection, postgresql = _postgresql(model)
    if not postgresql:
        bulk_insert(objs, ignore_conflicts=True)
        keys = [tuple(getattr(obj, name) for name in unique) for obj in objs]
        return rows_for_keys(model, unique, keys, lock=True)
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [next(f for f in meta.concrete_fields if f.attname == name) for name in unique]
    first = quote(fields[0].column)
    returning = ", ".join(quote(f.column) for f in meta.concrete_fields)  # in the model's order, for from_db
    conflict = ", ".join(quote(f.column) for f in fields)
    # a no-op assignment: it makes the conflict lock the row and RETURNING give it back (a HOT update)
    sql, arrays = _insert_sql(
        objs, connection, f" ON CONFLICT ({conflict}) DO UPDATE SET {first} = EXCLUDED.{first} RETURNING {returning}"
    )
    names = [f.attname for f in meta.concrete_fields]
    with _binding_cursor(connection) as cursor:
        cursor.execute(sql, arrays)
        rows = cursor.fetchall()
    # psycopg gives each column the Python type Django's own reads give it (aware UTC datetimes: Django sets
    # the session time zone), so the rows are models as read by the ORM
    return [model.from_db(alias, names, row) for row in rows]


def bulk_update(objs: list, fields: list[str]) -> int:
    """Write `fields` of every object, like QuerySet.bulk_update, in one statement.

    On PostgreSQL this is one `UPDATE … FROM UNNEST(…)` with a typed array per column: Django's bulk_update
    builds a CASE WHEN per row and field, whose Python cost grows with rows × fields (about 40 ms per
    hundred rows here, against under 2 ms for this). Other databases use Django's bulk_update."""
    if not objs:
        return 0
    model = type(objs[0])
    alias, connection, postgresql = _postgresql(model)
    if not postgresql:
        return model.objects.using(alias).bulk_update(objs, fields)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    arrays = [_column(pk, objs, connection, add=False)] + [_column(f, objs, connection, add=False) for f in columns]
    names = [pk.column] + [field.column for field in columns]
    types = [array_type(pk, connection)] + [array_type(field, connection) for field in columns]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET "
        + ", ".join(f"{quote(name)} = v.{quote(name)}" for name in names[1:])
        + " FROM UNNEST("
        + ", ".join(f"{_placeholder(values)}::{kind}[]" for kind, values in zip(types, arrays, strict=True))
        + ") AS v("
        + ", ".join(quote(name) for name in names)
        + f") WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with _binding_cursor(connection) as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def update_returning(queryset, **values) -> list:
    """`queryset.update(**values)` that returns the primary keys of the rows it changed, in one statement
    (`UPDATE … RETURNING`, on PostgreSQL and SQLite alike): a conditional update and the read of which rows
    it won, without a second query."""
    from django.core.exceptions import EmptyResultSet
    from django.db.models import sql

    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    try:
        statement, params = query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # a filter that matches nothing (pk__in=[]): no statement to run
        return []
    pk = queryset.model._meta.pk
    connection = connections[queryset.db]
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {connection.ops.quote_name(pk.column)}", params)
        return [pk.to_python(row[0]) for row in cursor.fetchall()]


def rows_for_keys(model, columns: list[str], keys: list[tuple], *, since: tuple | None = None, lock=False) -> list:
    """The rows of `model` whose `columns` (attnames, e.g. "strategy_id") equal one of `keys`, found key by key
    in the order given; `since=(column, value)` also asks `column >= value`; `lock=True` locks them FOR UPDATE
    in that order (callers sort the keys, so concurrent lockers take turns instead of deadlocking).

    On PostgreSQL this is a LATERAL join on UNNEST of the keys, fenced with OFFSET 0, so each key is one probe
    of the index that starts with `columns` whatever the planner's statistics say: right after a burst of
    inserts they still describe a small table, and the planner would read a whole low-selectivity index (all
    of an account's rows) instead. Elsewhere an OR of the keys."""
    if not keys:
        return []
    model_alias, connection, postgresql = _postgresql(model)
    meta = model._meta
    fields = [next(f for f in meta.concrete_fields if f.attname == name) for name in columns]
    if not postgresql:
        import operator
        from functools import reduce

        from django.db.models import Q

        queryset = model.objects.using(model_alias).filter(
            reduce(operator.or_, (Q(**dict(zip(columns, key, strict=True))) for key in keys))
        )
        if since:
            queryset = queryset.filter(**{f"{since[0]}__gte": since[1]})
        return list(queryset.select_for_update() if lock else queryset)
    quote = connection.ops.quote_name
    names = [f"k{n}" for n in range(len(fields))]
    condition = " AND ".join(f"t.{quote(f.column)} = k.{name}" for f, name in zip(fields, names, strict=True))
    params = [[key[n] for key in keys] for n in range(len(fields))]
    if since:
        condition += f" AND t.{quote(meta.get_field(since[0]).column)} >= %s"
        params.append(since[1])
    sql = (
        "SELECT r.* FROM UNNEST("
        + ", ".join(f"%s::{array_type(f, connection)}[]" for f in fields)
        + f") WITH ORDINALITY AS k({', '.join(names)}, n) CROSS JOIN LATERAL (SELECT t.* FROM "
        + f"{quote(meta.db_table)} t WHERE {condition} OFFSET 0{' FOR UPDATE' if lock else ''}) r ORDER BY k.n"
    )
    return list(model.objects.using(model_alias).raw(sql, params))


def fillfactor(tables: dict[str, int]):
    """A migration operation that leaves room on each page of these tables (table -> fillfactor percent), on
    PostgreSQL (a no-op elsewhere). For rows the engine updates again within seconds of inserting them (an
    order goes SENT then FILLED; a book line changes on every fill): the new version can then be written on
    the same page without touching any index (a HOT update: no indexed column changes). Reversed, the
    tables get PostgreSQL's default back."""
    from django.db import migrations

    def apply(apps, schema_editor, *, reset=False):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.connection.ops.quote_name
        for table, percent in tables.items():
            options = "RESET (fillfactor)" if reset else f"SET (fillfactor = {int(percent)})"
            schema_editor.execute(f"ALTER TABLE {quote(table)} {options}")

    return migrations.RunPython(apply, lambda apps, schema_editor: apply(apps, schema_editor, reset=True))
