"""What only the server has: the ASGI webhook, the job queue, the audit scheduler, its settings."""
