"""Row evaluation of the query model's conditions: operators over typed dictionary domains,
property leaves and groups, cohorts, actions and autocapture elements."""

# The cohort module registers the ``cohort`` leaf source in ``properties``: import it with the package.
from . import cohorts as _cohorts  # noqa: E402, F401
