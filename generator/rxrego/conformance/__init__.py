"""The conformance suite: golden request/decision pairs run on the real OPA binary."""
