"""What only the server has: the ASGI webhook, the workers over the durable queue, the audit cron, its settings."""
