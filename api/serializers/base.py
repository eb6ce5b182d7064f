"""What every input serializer of the API shares: the site's text rule and its ids.

A client's body is checked field by field before any field reads it: a string
holding NUL, an unpaired surrogate or a control character is refused on the
field that holds it (`config.inputs.text_problem`), whatever the field's type,
so no choice, date or username lookup ever sees it, nor echoes it back in an
error the response could not encode. Multi-line text (a CharField without a
`max_length`: a body, a note, a description) keeps its tabs and line breaks.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

from config.inputs import parse_id, text_problem


def _is_multiline(field: serializers.Field) -> bool:
    return type(field) is serializers.CharField and field.max_length is None


def _problem_in(value, *, multiline: bool) -> str | None:
    """The text rule's complaint about any string in `value` (a list's, a dict's too)."""
    if isinstance(value, str):
        return text_problem(value, multiline=multiline)
    if isinstance(value, list | tuple):
        return next((p for item in value if (p := _problem_in(item, multiline=multiline))), None)
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = _problem_in(key, multiline=False) or _problem_in(item, multiline=False)
            if problem:
                return problem
    return None


class TextRuleMixin:
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            problems = {}
            for name, field in self.fields.items():
                if (
                    field.read_only
                    or name not in data
                    or isinstance(field, serializers.BaseSerializer)
                ):
                    continue
                values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
                child = getattr(field, "child", field)
                problem = _problem_in(values, multiline=_is_multiline(child))
                if problem:
                    problems[name] = [problem]
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)


# No docstrings on these two: the schema would give theirs to every input that has none.


class Input(TextRuleMixin, serializers.Serializer):
    pass  # what a client sends, as a body or a query string


class ModelInput(TextRuleMixin, serializers.ModelSerializer):
    pass  # what a client sends, read onto a model


class RowIdField(serializers.PrimaryKeyRelatedField):
    """A row named by its id. What cannot be an id (1e400, "1.5", true, a number past a
    bigint) is refused on the field without asking the database."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = parse_id(data)
        if pk is None:
            if isinstance(data, int):
                self.fail("does_not_exist", pk_value=data)
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(pk)
