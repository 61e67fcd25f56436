"""Model fields for personal data: encrypted at rest, found through keyed hashes (bank/crypto.py).

    number = EncryptedCharField(max_length=34, hash_field="number_hash")
    number_hash = BlindIndexField("number", kind="account_number", unique=True)

An `EncryptedCharField` behaves like a CharField in Python (forms, validation, max_length of the plain value) and
is a `text` column holding an AES-256-GCM token (bank/crypto.py) in the database. Every way Django writes a value
(save, create, bulk_create, bulk_update, update) encrypts it.

Comparing ciphertexts is meaningless (the same value encrypts differently every time), so:
- a field with a `hash_field` answers `exact` and `in` by comparing keyed hashes: `Account.objects.get(number=n)`,
  `filter(number__in=[...])` and `customer__email=...` work as written, and uniqueness lives on the hash column;
- every other lookup (`icontains`, `startswith`, ordering aside) raises instead of silently finding nothing.

A `BlindIndexField` is recomputed from its source field on every save and bulk_create (Django calls `pre_save` for
both). `QuerySet.update()` and `bulk_update()` bypass `pre_save`: code that changes a source that way must set the
hash too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet, FieldError
from django.db import models
from django.db.models import Lookup
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, IsNull

from bank import crypto


def _hash_column(lookup: Lookup, compiler: Any) -> tuple[str, list[Any], str]:
    """The SQL of the hash column beside the encrypted column `lookup` compares, and the hash's kind."""
    lhs = lookup.lhs
    if not isinstance(lhs, Col):
        raise FieldError("an encrypted field can only be compared as a plain column")
    target = lhs.target
    if not isinstance(target, EncryptedCharField) or not target.hash_field:
        raise FieldError("only an encrypted field with a hash_field is compared by its hash")
    hash_field = target.model._meta.get_field(target.hash_field)
    if not isinstance(hash_field, BlindIndexField):
        raise FieldError(f"{target.hash_field} is not a BlindIndexField")
    sql, params = compiler.compile(Col(lhs.alias, hash_field))
    return sql, list(params), hash_field.kind


class _HashedExact(Lookup):
    lookup_name = "exact"
    prepare_rhs = False
    can_use_none_as_rhs = True

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if hasattr(self.rhs, "resolve_expression"):
            raise FieldError("an encrypted field can only be compared with a value")
        sql, params, kind = _hash_column(self, compiler)
        return f"{sql} = %s", [*params, crypto.blind_index(kind, self.rhs)]


class _HashedIn(Lookup):
    lookup_name = "in"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if hasattr(self.rhs, "resolve_expression") or isinstance(self.rhs, str):
            raise FieldError("an encrypted field can only be compared with a list of values")
        sql, params, kind = _hash_column(self, compiler)
        digests = list(dict.fromkeys(crypto.blind_index(kind, value) for value in self.rhs))
        if not digests:
            raise EmptyResultSet
        return f"{sql} IN ({', '.join(['%s'] * len(digests))})", [*params, *digests]


class _BlankOnlyExact(Exact):
    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted and has no keyed hash: it can only be compared with \"\""
            )
        return super().get_prep_lookup()


class EncryptedCharField(models.CharField):
    description = "Text encrypted at rest (AES-256-GCM)"

    def __init__(self, *args: Any, hash_field: str | None = None, **kwargs: Any) -> None:
        self.hash_field = hash_field
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.hash_field:
            kwargs["hash_field"] = self.hash_field
        return name, path, args, kwargs

    def db_type(self, connection: Any) -> str:
        return "text"

    def cast_db_type(self, connection: Any) -> str:
        return "text"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return IsNull
        if self.hash_field and lookup_name in ("exact", "in"):
            return _HashedExact if lookup_name == "exact" else _HashedIn
        if lookup_name == "exact":
            return _BlankOnlyExact
        raise FieldError(f"{self.name} is encrypted: `{lookup_name}` lookups cannot work on it")


class BlindIndexField(models.CharField):
    """HMAC-SHA256 of the normalised value of `source` (64 hex characters; "" when the source is blank)."""

    description = "Keyed hash of another field, for exact search"

    def __init__(self, source: str, *, kind: str, **kwargs: Any) -> None:
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("db_index", not kwargs.get("unique", False))  # a unique one has its constraint's index
        super().__init__(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        # db_index always, even False: __init__'s default for it is not Field's, so leaving it out would flip it.
        return name, path, [self.source], {
            **kwargs, "kind": self.kind,
            "db_index": self.db_index,  # type: ignore[attr-defined]  # Field.__init__ sets it; the stubs omit it
        }

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = crypto.blind_index(self.kind, getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
