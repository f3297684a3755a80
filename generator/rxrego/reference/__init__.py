"""The independent reference evaluator: docs/semantics.md written directly in Python.

It is the second opinion the generated Rego is differentially tested against, so it shares
no code with the generator or its templates; it reads only the spec model.

    decide(specs, request)            the router's decision, as data.rxrego.decision gives it
    decide_policy(spec, request)      one policy's decision (the request envelope is valid)
    statuses(spec, request, set_name) the 4-valued status of each criterion of a set
"""

from . import clinical as clinical  # the clinical-facts kinds join the leaf table
from .decision import decide_policy, statuses
from .router import decide, envelope_errors

__all__ = ["decide", "decide_policy", "envelope_errors", "statuses"]
