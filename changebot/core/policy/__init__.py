"""Rules (JSON Logic and sandboxed JavaScript) and Rego policies: the rules and policy gates."""
