"""The only code that touches the world: git, GitHub, OPA, the Rego worker, the Actions runtime."""
