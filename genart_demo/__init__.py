"""genart: an open studio for comparing generative image and video models."""

__version__ = "0.1.0"
