"""Tasks: one module per kind of work; a typed request in, images plus their settings out. No Gradio here."""
