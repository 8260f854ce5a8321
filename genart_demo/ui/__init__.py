"""Gradio tabs: each module exposes build_<tab>_ui(studio), which adds its components to the app being built and only
wires widgets to tasks/ functions."""
