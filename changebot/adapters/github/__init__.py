"""GitHub: PyGithub calls, App authentication, the Actions runtime, Actions spend."""
