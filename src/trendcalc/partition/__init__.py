"""Person-partitioned stores (issue #17, first slice): split an EventStore by person into k saved
stores, run a Trends query on each and merge the per-partition answers exactly.

``partition()`` writes the partitions, ``PartitionedStore.open()`` opens them, ``trends()``
(``trendcalc.trends``) accepts a PartitionedStore. Every math merges through an exact partial
state (``merge.py``, ``states.py``); what has none yet raises UnsupportedError before any
partition runs. Dask is imported only when a ``dask.distributed.Client`` is passed as the executor.
"""

from __future__ import annotations

from .store import PartitionedStore, partition

__all__ = ["PartitionedStore", "partition"]
