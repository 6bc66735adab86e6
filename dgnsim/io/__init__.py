"""Files: atomic output (:mod:`dgnsim.io.files`) and trained-network checkpoints (:mod:`dgnsim.io.checkpoint`)."""

from dgnsim.io.files import atomic_path, write_json, write_npz, write_text

__all__ = ["atomic_path", "write_json", "write_npz", "write_text"]
