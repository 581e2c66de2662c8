"""Request bodies checked against Discord's official OpenAPI description.

The sandbox refuses every body that the official description (OpenAPI 3.1, MIT, see
``openapi_subset.LICENSE``) would refuse, so a client that passes the sandbox sends what Discord
documents. The sandbox ships a *subset* of the description (``openapi_subset.json``: the
operations it serves and the ``$ref`` closure of their request schemas) because production images
do not carry the full 1 MB file; regenerate it with::

    python -m sandbox.discord.schema extract /path/to/discord-openapi.json

Schemas are JSON Schema 2020-12. ``$ref``s such as ``#/components/schemas/SnowflakeType`` point
into the description itself, so the whole description is registered as one resource of a
``referencing`` registry and every operation's schema is reached by a ``$ref`` into it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SUBSET_PATH = Path(__file__).with_name("openapi_subset.json")
SPEC_URI = "urn:discord-openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Every operation the sandbox serves that the description knows. (POST /guilds is served too, to
# refuse it, but Discord removed it from the description in July 2025.)
SERVED_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/users/@me"),
    ("GET", "/users/@me/guilds"),
    ("GET", "/applications/@me"),
    ("GET", "/guilds/{guild_id}"),
    ("PATCH", "/guilds/{guild_id}"),
    ("GET", "/guilds/{guild_id}/members/{user_id}"),
    ("GET", "/guilds/{guild_id}/channels"),
    ("POST", "/guilds/{guild_id}/channels"),
    ("GET", "/guilds/{guild_id}/roles"),
    ("POST", "/guilds/{guild_id}/roles"),
    ("DELETE", "/guilds/{guild_id}/roles/{role_id}"),
    ("GET", "/channels/{channel_id}"),
    ("PATCH", "/channels/{channel_id}"),
    ("DELETE", "/channels/{channel_id}"),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"),
    ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}"),
    ("GET", "/channels/{channel_id}/invites"),
    ("POST", "/channels/{channel_id}/invites"),
    ("GET", "/guilds/{guild_id}/invites"),
    ("DELETE", "/invites/{code}"),
)

# ``format`` is only an annotation in 2020-12; these checks make the numeric formats mean what
# they say (a position must fit in an int32) without letting unknown formats ("uri",
# "date-time"...) depend on optional packages.
FORMATS = FormatChecker(formats=())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@FORMATS.checks("int32")
def _int32(value: Any) -> bool:
    return not _is_int(value) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: Any) -> bool:
    return not _is_int(value) or -(2**63) <= value < 2**63


@FORMATS.checks("snowflake")
def _snowflake(value: Any) -> bool:
    return not isinstance(value, str) or (value.isdigit() and int(value) < 2**64)


@dataclass(frozen=True)
class FormError:
    """One problem with a request body, located by its path in the body."""

    path: tuple[str | int, ...]
    code: str
    message: str

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.path) or "(body)"
        return f"{where}: {self.message} ({self.code})"


# -- extraction ---------------------------------------------------------------------------------
def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def extract_subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The served operations of ``spec`` (parameters and request bodies) and their ``$ref`` closure.

    Responses are left out: OpenAPI 3.1 makes them optional, and their closure is most of the file.
    """
    paths: dict[str, Any] = {}
    for method, template in SERVED_OPERATIONS:
        item = spec["paths"].get(template)
        operation = (item or {}).get(method.lower())
        if operation is None:
            raise KeyError(f"{method} {template} is not in the description")
        out = paths.setdefault(template, {})
        if "parameters" in item and "parameters" not in out:
            out["parameters"] = item["parameters"]
        out[method.lower()] = {
            key: operation[key]
            for key in ("operationId", "parameters", "requestBody")
            if key in operation
        }
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set()
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise ValueError(f"unexpected $ref outside components/schemas: {ref}")
        name = ref[len(prefix) :]
        if name in wanted:
            continue
        wanted.add(name)
        pending |= _refs(schemas[name])
    # Keep the description's own order so the subset diffs cleanly when it is regenerated.
    return {
        "openapi": spec["openapi"],
        "info": {
            **spec["info"],
            "x-sandbox-subset": (
                "Subset of Discord's OpenAPI description: the operations the sandbox serves and "
                "the $ref closure of their request schemas (see openapi_subset.LICENSE)."
            ),
        },
        "paths": paths,
        "components": {"schemas": {k: v for k, v in schemas.items() if k in wanted}},
    }


# -- validation ---------------------------------------------------------------------------------
class SpecValidator:
    """Validates request bodies against one OpenAPI description (the subset or the full file)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> SpecValidator:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def operation(self, method: str, template: str) -> dict[str, Any] | None:
        item = self.spec.get("paths", {}).get(template)
        if not isinstance(item, dict):
            return None
        return item.get(method.lower())

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            schema = {"$ref": f"{SPEC_URI}#{quote(pointer, safe='/~')}"}
            self._validators[pointer] = Draft202012Validator(
                schema, registry=self.registry, format_checker=FORMATS
            )
        return self._validators[pointer]

    def form_errors(
        self, method: str, template: str, body: Any, component: str | None = None
    ) -> list[FormError]:
        """Problems with ``body`` for the operation (``None`` body: no body was sent).

        ``component`` names a schema of ``components/schemas`` to validate against instead of the
        operation's own (used to pick the guild branch of an ``anyOf`` the server already knows).
        """
        operation = self.operation(method, template)
        if operation is None:
            return [FormError((), "UNKNOWN_OPERATION", f"{method} {template} is not described")]
        request_body = operation.get("requestBody")
        if request_body is None:
            if body is None:
                return []
            return [FormError((), "BODY_NOT_ALLOWED", "This operation takes no request body")]
        if body is None:
            if request_body.get("required"):
                return [FormError((), "BODY_REQUIRED", "A JSON request body is required")]
            return []
        if component is not None:
            pointer = f"/components/schemas/{component.replace('~', '~0').replace('/', '~1')}"
        else:
            escaped = template.replace("~", "~0").replace("/", "~1")
            pointer = (
                f"/paths/{escaped}/{method.lower()}/requestBody/content/application~1json/schema"
            )
        validator = self._validator(pointer)
        found: dict[tuple[str | int, ...], FormError] = {}
        for error in validator.iter_errors(body):
            for leaf in _leaves(error, self._known_keys):
                for item in _form_errors(leaf):
                    # One error per field, the first the schema order gives (its type before its
                    # choices), as Discord reports one reason per field.
                    found.setdefault(item.path, item)
        return list(found.values())

    def _known_keys(self, schema: Any) -> set[str]:
        """The property names a (possibly ``$ref``) schema declares; for choosing a branch."""
        for _ in range(8):  # follow a short chain of $refs
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            schema = self._lookup(ref)
        properties = schema.get("properties") if isinstance(schema, dict) else None
        return set(properties) if isinstance(properties, dict) else set()

    def _lookup(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref[2:].split("/"):
            if not isinstance(node, dict):
                return {}
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        return node

    def errors(self, method: str, template: str, body: Any) -> list[str]:
        return [str(error) for error in self.form_errors(method, template, body)]


def _branches(error: ValidationError) -> dict[Any, list[ValidationError]]:
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    return branches


def _leaves(error: ValidationError, known_keys: Callable[[Any], set[str]]) -> list[ValidationError]:
    """The errors worth reporting: inside a ``oneOf``/``anyOf``, those of the most likely branch.

    ``{"parent_id": "abc"}`` fails both ``null`` and ``SnowflakeType``; what the caller wants to
    hear about is the snowflake, not that the value is not null. Between object branches, the one
    that declares most of the body's keys is the one the caller meant.
    """
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches = _branches(error)
    subs = [sub for group in branches.values() for sub in group]
    if all(sub.validator in ("const", "enum") and not sub.relative_path for sub in subs):
        return [error]  # a choice between constants: reported as one list of choices
    options = error.validator_value if isinstance(error.validator_value, list) else []
    keys = set(error.instance) if isinstance(error.instance, dict) else set()

    def score(index: Any) -> tuple[bool, bool, int, int]:
        group = branches[index]
        only_null = all(s.validator == "type" and s.validator_value == "null" for s in group)
        wrong_type = any(s.validator == "type" and not s.relative_path for s in group)
        branch = options[index] if isinstance(index, int) and index < len(options) else {}
        covered = len(keys & known_keys(branch)) if keys else 0
        return (only_null, wrong_type, -covered, len(group))

    best = min(branches, key=score)
    return [leaf for sub in branches[best] for leaf in _leaves(sub, known_keys)]


_TYPE_ERRORS = {
    "string": ("STRING_TYPE_CONVERT", 'Could not interpret "{value}" as string.'),
    "integer": ("NUMBER_TYPE_COERCE", 'Value "{value}" is not int.'),
    "number": ("NUMBER_TYPE_COERCE", 'Value "{value}" is not float.'),
    "boolean": ("BOOLEAN_TYPE_CONVERT", "Must be either true or false."),
    "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"),
    "object": ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
}


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _choices(values: list[Any]) -> str:
    return "Value must be one of {" + ", ".join(json.dumps(v) for v in values) + "}."


def _form_errors(error: ValidationError) -> list[FormError]:
    """Discord's wording (codes such as ``BASE_TYPE_MAX_LENGTH``) for one JSON Schema error."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    # Any: the stubs allow an "unset" sentinel, which errors from a validator never carry.
    keyword: Any = error.validator
    expected: Any = error.validator_value
    value: Any = error.instance
    snowflake = schema.get("format") == "snowflake"
    if keyword == "required":
        return [
            FormError((*path, name), "BASE_TYPE_REQUIRED", "This field is required")
            for name in expected
            if isinstance(value, dict) and name not in value
        ]
    if keyword in ("oneOf", "anyOf"):
        # Only a choice between constants gets here (see _leaves).
        values = [sub.validator_value for sub in error.context or []]
        flat = [v for item in values for v in (item if isinstance(item, list) else [item])]
        return [FormError(path, "BASE_TYPE_CHOICES", _choices(flat))]
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        if value is None:
            return [FormError(path, "BASE_TYPE_REQUIRED", "This field is required")]
        wanted = next((t for t in types if t != "null"), "null")
        if snowflake:
            return [
                FormError(path, "NUMBER_TYPE_COERCE", f'Value "{_show(value)}" is not snowflake.')
            ]
        code, template = _TYPE_ERRORS.get(wanted, ("BASE_TYPE_INVALID", error.message))
        return [FormError(path, code, template.format(value=_show(value)))]
    if keyword in ("minLength", "maxLength", "minItems", "maxItems"):
        low = schema.get("minLength", schema.get("minItems"))
        high = schema.get("maxLength", schema.get("maxItems"))
        if low and high is not None:
            return [
                FormError(
                    path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
                )
            ]
        if keyword.startswith("max"):
            return [FormError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")]
        return [FormError(path, "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")]
    if keyword in ("minimum", "exclusiveMinimum"):
        message = f"int value should be greater than or equal to {expected}."
        return [FormError(path, "NUMBER_TYPE_MIN", message)]
    if keyword in ("maximum", "exclusiveMaximum"):
        message = f"int value should be less than or equal to {expected}."
        return [FormError(path, "NUMBER_TYPE_MAX", message)]
    if keyword == "enum":
        return [FormError(path, "BASE_TYPE_CHOICES", _choices(list(expected)))]
    if keyword == "const":
        return [FormError(path, "BASE_TYPE_CHOICES", _choices([expected]))]
    if keyword in ("pattern", "format") and snowflake:
        return [FormError(path, "NUMBER_TYPE_COERCE", f'Value "{_show(value)}" is not snowflake.')]
    if keyword == "format" and expected in ("int32", "int64"):
        return [FormError(path, "NUMBER_TYPE_MAX", f"Value does not fit in an {expected}.")]
    if keyword == "uniqueItems":
        return [FormError(path, "LIST_ITEM_VALUE_DUPLICATE", "Items must be unique.")]
    return [FormError(path, "BASE_TYPE_INVALID", error.message)]


def discord_errors(errors: list[FormError]) -> dict[str, Any]:
    """Nest errors the way Discord does: ``{"name": {"_errors": [{"code", "message"}]}}``."""
    tree: dict[str, Any] = {}
    for error in errors:
        node = tree
        for part in error.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": error.code, "message": error.message})
    return tree


# -- public helpers -----------------------------------------------------------------------------
@cache
def subset_validator() -> SpecValidator:
    """The validator of the committed subset (what the sandbox itself uses)."""
    return SpecValidator.from_file(SUBSET_PATH)


@lru_cache(maxsize=4)
def _file_validator(path: str) -> SpecValidator:
    return SpecValidator.from_file(path)


def validate_request_body(method: str, route_template: str, body: Any) -> list[str]:
    """Problems with ``body`` for an operation, e.g. ``("POST", "/guilds/{guild_id}/channels")``.

    ``body`` is the parsed JSON, or ``None`` when no body is sent. An empty list means valid.
    Operations outside what the sandbox serves are reported as unknown; for those, use
    :func:`validate_request_body_with_spec` and the full description.
    """
    return subset_validator().errors(method, route_template, body)


def validate_request_body_with_spec(
    spec_path: str | Path, method: str, route_template: str, body: Any
) -> list[str]:
    """Like :func:`validate_request_body`, against the description at ``spec_path`` (tests)."""
    return _file_validator(str(Path(spec_path).resolve())).errors(method, route_template, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.discord.schema")
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="write the subset the sandbox ships")
    extract.add_argument("spec", type=Path, help="Discord's full OpenAPI description (JSON)")
    extract.add_argument("--output", type=Path, default=SUBSET_PATH)
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    subset = extract_subset(spec)
    args.output.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", "utf-8")
    count = len(subset["components"]["schemas"])
    print(f"wrote {args.output} ({len(SERVED_OPERATIONS)} operations, {count} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
