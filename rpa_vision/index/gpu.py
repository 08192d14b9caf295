"""GPU FAISS, when this FAISS build has it and a GPU is present; never required.

The CPU index stays the source of truth (writes, reconstruction, saving); a GPU replica serves
searches while it is current.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

_resources: Any = None


def gpu_count() -> int:
    """Number of GPUs GPU FAISS can use here (0 with faiss-cpu)."""
    if not hasattr(faiss, "StandardGpuResources") or not hasattr(faiss, "get_num_gpus"):
        return 0
    try:
        return int(faiss.get_num_gpus())
    except (RuntimeError, AttributeError):
        return 0


def to_gpu(index: Any, device: int = 0) -> Any:
    """A GPU copy of a CPU index (raises when GPU FAISS is unavailable)."""
    global _resources
    if _resources is None:
        _resources = faiss.StandardGpuResources()
    return faiss.index_cpu_to_gpu(_resources, device, index)


def search(index: Any, queries: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
    """Search a GPU replica (IVF replicas take nprobe as an attribute)."""
    ivf = faiss.try_extract_index_ivf(index) if hasattr(faiss, "try_extract_index_ivf") else None
    if ivf is not None:
        ivf.nprobe = nprobe
    d, i = index.search(queries, k)
    return np.asarray(d, np.float32), np.asarray(i, np.int64)
