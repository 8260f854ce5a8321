"""Gradio tabs: each module exposes build_<tab>_ui(studio) and only wires widgets to tasks/ functions."""
