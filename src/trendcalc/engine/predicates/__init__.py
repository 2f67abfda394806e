"""Row evaluation of the query model's conditions: operators over typed dictionary domains,
property leaves and groups, cohorts, actions and autocapture elements."""
