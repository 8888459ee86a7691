# Reference figures for the MATCH time-to-first-decompensation endpoint (competing: death,
# transplant) on the demo reconstruction's ADTTE, computed with R's cmprsk.
#
# Run from the repository root:  Rscript tests/validation/r/match_decompensation.R
# Reads  tests/validation/fixtures/match_decompensation_adtte.csv (PARAMCD DECOMP of the demo:
#        USUBJID, ARMCD, AVAL in days, CRSTAT 0 censored / 1 decompensation / 2 competing)
# Writes tests/validation/fixtures/match_decompensation.json with 17 significant digits.

suppressPackageStartupMessages(library(cmprsk))

fixtures <- file.path("tests", "validation", "fixtures")
d <- read.csv(file.path(fixtures, "match_decompensation_adtte.csv"), stringsAsFactors = FALSE)
fit <- cuminc(d$AVAL, d$CRSTAT, group = d$ARMCD, cencode = 0)
at <- timepoints(fit, 360)
tests <- fit$Tests

num <- function(x) if (is.na(x)) "null" else sprintf("%.17g", x)
lines <- c(
  "{",
  sprintf('  "r_version": "%s",', R.version.string),
  sprintf('  "cmprsk_version": "%s",', as.character(packageVersion("cmprsk"))),
  '  "r_code": "fit <- cuminc(d$AVAL, d$CRSTAT, group = d$ARMCD, cencode = 0); timepoints(fit, 360); fit$Tests",',
  sprintf('  "incidence_360_standard_care": %s,', num(at$est["standard-care 1", 1])),
  sprintf('  "variance_360_standard_care": %s,', num(at$var["standard-care 1", 1])),
  sprintf('  "incidence_360_macrophage": %s,', num(at$est["macrophage 1", 1])),
  sprintf('  "variance_360_macrophage": %s,', num(at$var["macrophage 1", 1])),
  sprintf('  "gray_statistic": %s,', num(tests["1", "stat"])),
  sprintf('  "gray_p_value": %s,', num(tests["1", "pv"])),
  sprintf('  "gray_df": %s', num(tests["1", "df"])),
  "}"
)
writeLines(lines, file.path(fixtures, "match_decompensation.json"))
