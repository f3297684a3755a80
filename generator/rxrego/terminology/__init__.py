"""Code systems and units that policies name: ICD-10-CM diagnosis codes and UCUM units.

Each module wraps a maintained library rather than a table of our own
(`simple-icd-10-cm` for the ICD-10-CM code set, `ucumvert` with `pint` for UCUM), and is
used at generation and check time only: the generated Rego receives expanded code lists and
precomputed conversion factors, so OPA never parses a unit or walks a code hierarchy.
"""
