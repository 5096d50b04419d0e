"""Pure renderers: a ``Plan`` (or a gate's detail) to terminal text, Markdown, JSON and annotations."""
