"""Django forms built from a suspend's ``_form`` (API.md "Suspend payload conventions").

``_form = {title, description, fields: [{key, type, label, required, default, description,
options: [{label, value}]}], context, expiresAt}`` with ``type`` one of text, textarea, number,
boolean, select. A suspend without ``_form`` gets the simple approval form (Approve / Reject and an
optional comment). A boolean field keyed ``approved`` is answered with Approve / Reject buttons.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from django import forms

logger = logging.getLogger("polos.approvals")

FIELD_TYPES = ("text", "textarea", "number", "boolean", "select")
APPROVED = "approved"


@dataclass(slots=True)
class FieldSpec:
    key: str
    type: str = "text"
    label: str = ""
    required: bool = False
    default: Any = None
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class FormSpec:
    """A parsed ``_form`` (tolerant: bad entries are dropped with a warning, never a crash)."""

    title: str = ""
    description: str = ""
    fields: list[FieldSpec] = field(default_factory=list)
    context: Any = None
    expires_at: str | None = None
    simple: bool = False

    @property
    def approve_buttons(self) -> bool:
        """Answered with Approve / Reject buttons (a boolean ``approved`` field)."""
        return any(f.key == APPROVED and f.type == "boolean" for f in self.fields)

    @classmethod
    def from_suspend(cls, data: Any) -> FormSpec:
        """The form of a suspend event's data (the simple approval form when it has no ``_form``)."""
        data = data if isinstance(data, dict) else {}
        raw = data.get("_form")
        if not isinstance(raw, dict):
            context = {k: v for k, v in data.items() if not str(k).startswith("_")} or None
            return cls(
                title=str(data.get("_title") or "Approval needed"),
                description="",
                fields=[
                    FieldSpec(APPROVED, "boolean", "Approve"),
                    FieldSpec("feedback", "textarea", "Comment", description="Optional."),
                ],
                context=context,
                simple=True,
            )
        fields = []
        seen: set[str] = set()
        for index, item in enumerate(raw.get("fields") or []):
            spec = _field(item, index)
            if spec is None or spec.key in seen:
                continue
            seen.add(spec.key)
            fields.append(spec)
        expires = raw.get("expiresAt") or raw.get("expires_at")
        return cls(
            title=str(raw.get("title") or "Your input is needed"),
            description=str(raw.get("description") or ""),
            fields=fields,
            context=raw.get("context"),
            expires_at=str(expires) if expires else None,
        )


def _field(item: Any, index: int) -> FieldSpec | None:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
        logger.warning("_form field %d has no key; it is not shown", index)
        return None
    kind = item.get("type") or "text"
    if kind not in FIELD_TYPES:
        logger.warning("_form field %r has unknown type %r; shown as text", item["key"], kind)
        kind = "text"
    options = [o for o in item.get("options") or [] if isinstance(o, dict) and "value" in o]
    if kind == "select" and not options:
        logger.warning("_form select field %r has no options; shown as text", item["key"])
        kind = "text"
    return FieldSpec(
        key=item["key"],
        type=kind,
        label=str(item.get("label") or item["key"].replace("_", " ").capitalize()),
        required=bool(item.get("required")),
        default=item.get("default"),
        description=str(item.get("description") or ""),
        options=options,
    )


class SuspendForm(forms.Form):
    """A form of a :class:`FormSpec`; :meth:`resume_data` is what the execution resumes with."""

    def __init__(self, spec: FormSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        for f in spec.fields:
            self.fields[f.key] = _django_field(f)

    def resume_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in self.spec.fields:
            value = self.cleaned_data.get(f.key)
            if f.type == "number" and value is not None:
                value = int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)
            elif f.type == "select" and value not in (None, ""):
                value = f.options[int(value)]["value"]
            elif f.type == "select":
                value = None
            elif f.type in ("text", "textarea") and value == "" and not f.required:
                value = f.default if isinstance(f.default, str) else ""
            elif f.type == "textarea" and isinstance(value, str):
                value = value.replace("\r\n", "\n")  # browsers post CRLF line breaks
            data[f.key] = value
        return data


class _FiniteFloatField(forms.FloatField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not math.isfinite(value):
            raise forms.ValidationError("Enter a finite number.", code="invalid")


def _django_field(f: FieldSpec) -> forms.Field:
    common: dict[str, Any] = {"label": f.label, "help_text": f.description, "required": f.required}
    if f.type == "textarea":
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 4}), initial=_text(f.default), strip=False, **common
        )
    if f.type == "number":
        initial = f.default if isinstance(f.default, int | float) and not isinstance(f.default, bool) else None
        return _FiniteFloatField(initial=initial, widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if f.type == "boolean":
        # A checkbox always has an answer (unchecked is "no"), so "required" cannot mean "must be ticked".
        common["required"] = False
        return forms.BooleanField(initial=bool(f.default), **common)
    if f.type == "select":
        choices = [(str(i), str(o.get("label") or o["value"])) for i, o in enumerate(f.options)]
        initial = next((str(i) for i, o in enumerate(f.options) if o["value"] == f.default), None)
        if not f.required or initial is None:
            choices = [("", "Choose…"), *choices]
        return forms.ChoiceField(choices=choices, initial=initial, **common)
    return forms.CharField(initial=_text(f.default), **common)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
