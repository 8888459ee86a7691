"""Names vulture reports as unused that are used: public API, framework hooks and record fields.

`make lint` runs ``vulture src vulture_whitelist.py --min-confidence 60``. Anything vulture
reports that is not listed here is dead code: delete it (check that no test calls it first).
Add a name here only with the reason it stays. The file is read by vulture, never imported.
"""

# ruff: noqa
# mypy: ignore-errors

# Public API: functions, methods and properties users call (documented, doctested or tested).
_.site_view  # allocation.results: the allocation list as a site sees it
_.exclusion_table  # analysis.adam: the exclusions of a dataset as a table
read_source_directory  # analysis.sources: read a trial exported as CSV files
write_source_directory  # analysis.sources: write a trial as CSV files
source_tables  # demo.tables: the demo trial's source tables (tests compare them)
_.raise_if_not_eligible  # protocol.eligibility
cldq_scores  # protocol.instruments: Chronic Liver Disease Questionnaire domain scores
_.open_on  # protocol.schedule: visit windows open on a day
_.due_between  # protocol.schedule: visits due in a period
CLINICAL_ITEMS  # protocol.variables: documented table of the clinical items of a patient
_.likelihood_ratio  # stats.cox
_.risk_difference_ci  # stats.proportions
_.rates  # stats.rates
_.survival_at  # stats.survival
_.rmst  # stats.survival
_.to  # units.Quantity.to: convert to another unit
mg_per_dl  # units: quantity constructors used in docs and doctests
umol_per_l
g_per_dl
g_per_l
mmol_per_l
per_nl

# Fields of frozen result and record dataclasses: values users read (and .summary shows).
stratum_sequence  # allocation.results
block_size
seed_search_draws  # demo.build
last_contact_day  # demo.records
follow_up_days
account
futility_spending  # design.group_sequential
expected_information_h0
days_from_target  # protocol.schedule
he_points  # scores.apasl: the points behind the score
lactate_points
creatinine_points
mean_estimate  # simulate.results
empirical_se
mean_se
mean_excluded
mean_screened
score_null  # stats._cox_engine: the score test at beta = 0
information_null
std_err  # stats.batch.survival
log_rate_ratio_se  # stats.rates
planned_amount_per_kg  # store.records: the recorded dose and visit rows
planned_total
given_total
given_amount_per_kg
study_day
in_window
unit_standard
record_table
confirmed_by

# Pydantic: settings and validators called by the framework.
model_config
minimum_total  # protocol.dosing fields
maximum_total
registration  # protocol.models field
_._assumptions_name_fields
_._levels_match_kind
_._expression_parses
_._names_are_known
_._bands_consistent
_._options_match_method
_._bounds_order
_._interval_for_repeats
_._estimators_fit_kind
_._example_follows_pattern
_._cross_references
_._exactly_one  # simulate.patients validators
_._shape
_._effects_known

# Typer commands, registered by decorator.
list_command  # cli.protocol
assumptions_command

# SQLAlchemy: mapped columns, type map and event listeners; the service sets ORM attributes.
type_annotation_map
screened_by
randomized_at
randomized_by
_on_connect  # store.engine: connection and transaction events
_.isolation_level
_on_begin
_.given_total  # service.randomization: dose recorded on the ORM row
_.given_amount_per_kg

# Alembic: module-level names of every migration.
revision
down_revision
branch_labels
depends_on
downgrade

# The server: routes registered by FastAPI's decorators, the application factory uvicorn
# imports by name ("hepatrial.server.app:create_app"), a pydantic-settings validator.
create_app
health
record_questionnaire
schedule
audit_verification
_._refuse_insecure
login  # server.signin
logout
idle_timeout_minutes  # server.schemas: response fields FastAPI serializes
sessions_ended
_.openapi  # server.app: FastAPI calls app.openapi() to serve the document (problem schemas added)

# The result protocol (hepatrial.stats.results): every result's provenance, read by reports.
_.provenance
