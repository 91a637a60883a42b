"""Version of the pii_gemini package."""

__version__ = "0.1.0"
