"""reconciler: GitOps for OpenAI fine-tuning jobs, training files and checkpoint permissions."""

__version__ = "0.1.0"
__all__ = ["__version__"]
