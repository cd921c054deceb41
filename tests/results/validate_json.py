#!/usr/bin/env python3
"""Validates fabricbench results against the results JSON Schema.

  validate_json.py SCHEMA FILE                  FILE is a final document
  validate_json.py SCHEMA FILE --jsonl          FILE is a JSON Lines stream: each line a record
  validate_json.py ... --expect-invalid [TEXT]  succeed only if FILE is invalid, and when TEXT
                                                is given, only if an error says TEXT (so a
                                                negative test fails for the reason it is about)

Beyond the schema it checks what JSON Schema cannot express: a record keeps no more samples
than its cap or than were measured. Exits 0 when the outcome is the expected one, 1 otherwise,
printing the first error with where it is.
"""
import argparse
import json
import sys

import jsonschema


class Invalid(Exception):
    def __init__(self, message, details=()):
        super().__init__(message)
        self.details = [message, *details]  # every error found, for --expect-invalid TEXT


def check_samples(record, where):
    samples = record.get("samples")
    if not isinstance(samples, dict):
        return
    kept = len(samples.get("values_us", []))
    for limit in ("cap", "total"):
        if isinstance(samples.get(limit), int) and kept > samples[limit]:
            raise Invalid(f"{where}.samples: {kept} values_us, more than {limit} {samples[limit]}")


def describe(error, where):
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where}{path}: {error.message}"


def validate(validator, instance, where):
    errors = list(validator.iter_errors(instance))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise Invalid(describe(best, where), [describe(e, where) for e in errors])


def validate_document(schema, path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    validate(jsonschema.Draft202012Validator(schema), document, path)
    for i, record in enumerate(document.get("records", [])):
        check_samples(record, f"{path}: records[{i}]")


def validate_stream(schema, path):
    # The record definition, with the rest of $defs so its references resolve.
    record_schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                     "$ref": "#/$defs/record"}
    validator = jsonschema.Draft202012Validator(record_schema)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise Invalid(f"{path}: no records")
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise Invalid(f"{where}: not JSON: {e}") from None
        validate(validator, record, where)
        check_samples(record, where)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schema")
    parser.add_argument("file")
    parser.add_argument("--jsonl", action="store_true", help="FILE is a stream of records")
    parser.add_argument("--expect-invalid", nargs="?", const="", default=None, metavar="TEXT",
                        help="succeed only when FILE fails validation (with an error saying TEXT)")
    args = parser.parse_args()

    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    try:
        (validate_stream if args.jsonl else validate_document)(schema, args.file)
    except (Invalid, json.JSONDecodeError) as e:
        if args.expect_invalid is None:
            print(f"INVALID: {e}", file=sys.stderr)
            return 1
        details = getattr(e, "details", [str(e)])
        if not any(args.expect_invalid in d for d in details):
            print(f"invalid, but not for the expected reason '{args.expect_invalid}':",
                  *details, sep="\n  ", file=sys.stderr)
            return 1
        print(f"invalid, as expected: {e}")
        return 0
    if args.expect_invalid is not None:
        print(f"{args.file}: valid, but it was expected to be invalid", file=sys.stderr)
        return 1
    print(f"{args.file}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
