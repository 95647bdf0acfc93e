"""Lab results as CQL Quantities, and comparing them with a threshold such as 9 '%'.

`FHIRHelpers.ToValue(Observation.value) as Quantity` and `value > 9 '%'`, as
cql-execution (the engine behind fqm-execution and MADiE's expected results)
evaluates them, for the glycemic measures (CMS122):

- `lab_value` reads `Observation.value[x]`: no value[x] at all, or a
  valueQuantity with no number, is a missing result (ToValue is null); any
  other value[x] (a valueCodeableConcept "Yes", a valueString) is a result
  that is not a Quantity.
- The unit is `Coalesce(code, unit, '1')` (FHIRHelpers.ToQuantity): a number
  with no unit is the dimensionless '1', so 9.5 with no unit is 950 % to the
  engine. Units are compared as UCUM converts them, which for the ratios an
  HbA1c can be given in is a scale: 1 % = 10 mmol/mol = 0.01 '1'. (UCUM knows
  nothing of the IFCC/NGSP master equation: 64 mmol/mol is 6.4 % to the engine,
  not 8.0 %; the measure's threshold is 9 '%', and that is what it means.)
- Where the engine would stop with an error (a comparator such as ">14", a
  system other than UCUM, a unit UCUM cannot read), the result is kept as one
  that is present but cannot be compared, except that a comparator which
  settles the question (">14 %" is above 9 %, "<4 %" is not) is read as such:
  clinical truth first, and a lab that reports ">14 %" has certainly tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from patients.caregaps.fhirdata import UCUM, Resource, has_value, to_decimal
from patients.caregaps.temporal import Truth

# Dimensionless UCUM units a glycemic result may carry, as a factor of '1'.
# Annotations ({HbA1c}, {ratio}) are unity in UCUM and are dropped first.
_DIMENSIONLESS = {
    "1": Decimal(1),
    "%": Decimal("0.01"),
    "10*-2": Decimal("0.01"),
    "10*-3": Decimal("0.001"),
    "mol/mol": Decimal(1),
    "mmol/mol": Decimal("0.001"),
    "umol/mol": Decimal("0.000001"),
    "g/g": Decimal(1),
    "mg/g": Decimal("0.001"),
}
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_COMPARATORS = {"<", "<=", ">=", ">"}


@dataclass(frozen=True)
class LabQuantity:
    """A result read as a Quantity: its number, its unit (as the engine takes it),
    and the comparator a lab may qualify it with."""

    value: Decimal
    unit: str
    comparator: str | None = None
    system: str | None = None

    def in_unit(self, unit: str) -> Decimal | None:
        """The value converted to `unit` (UCUM scale), or None when they cannot be compared."""
        if self.system not in (None, UCUM):
            return None  # FHIRHelpers.ToQuantity: an error in the engine
        mine, theirs = _factor(self.unit), _factor(unit)
        if mine is None or theirs is None:
            return None
        return self.value * mine / theirs

    def same_scale(self, unit: str) -> bool:
        """Whether the value is already in `unit`'s scale (% and 10*-2 are; mmol/mol is
        not): a control programme compares only these with its target, because the
        UCUM scale that `in_unit` applies is not the clinical conversion (64 mmol/mol
        IFCC is 8.0 % NGSP, not 6.4 %), and a number with no unit may mean either."""
        if self.system not in (None, UCUM):
            return False
        mine = _factor(self.unit)
        return mine is not None and mine == _factor(unit)

    def greater_than(self, threshold: Decimal, unit: str) -> Truth:
        """`self > threshold 'unit'`; None (unknown) when the units do not compare."""
        value = self.in_unit(unit)
        if value is None:
            return None
        if self.comparator is None:
            return value > threshold
        if self.comparator in (">", ">="):
            # ">14": above 14, so above 9; ">=9" may be exactly 9.
            if value > threshold or (self.comparator == ">" and value == threshold):
                return True
            return None
        # "<4" or "<=9": at most the bound, so not above a threshold at or over it.
        return False if value <= threshold else None


def _factor(unit: str) -> Decimal | None:
    return _DIMENSIONLESS.get(_ANNOTATION.sub("", unit).strip() or "1")


@dataclass(frozen=True)
class LabValue:
    """`FHIRHelpers.ToValue(Observation.value)`: missing, a Quantity, or some other value."""

    missing: bool
    quantity: LabQuantity | None = None


def lab_value(observation: Resource) -> LabValue:
    """The observation's result, as ToValue (and `as Quantity`) read it."""
    quantity: Any = observation.get("valueQuantity")
    if isinstance(quantity, dict):
        number = to_decimal(quantity.get("value"))
        if number is None:
            # ToQuantity: `when quantity.value is null then null`.
            return LabValue(missing=True)
        comparator = quantity.get("comparator")
        unit = quantity.get("code") or quantity.get("unit") or "1"
        return LabValue(
            missing=False,
            quantity=LabQuantity(
                number,
                str(unit),
                comparator if comparator in _COMPARATORS else None,
                quantity.get("system"),
            ),
        )
    return LabValue(missing=not has_value(observation))
