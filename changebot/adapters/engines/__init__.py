"""Evaluation engines: the sandbox worker, QuickJS, regorus, and OPA over HTTP."""
